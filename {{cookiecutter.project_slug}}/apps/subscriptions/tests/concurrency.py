"""Running two calls at the same moment, each on its own database connection, for
the tests of races (a return page and its webhook)."""

import threading

from django.db import connection


def run_at_once(*calls) -> list[Exception]:
    """Start every call at the same moment in a thread of its own; what they raised."""
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # reported to the caller
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
