from celery import shared_task


@shared_task
def ping() -> str:
    """Answer "pong": proves a worker is consuming (celery call apps.web.tasks.ping)."""
    return "pong"
