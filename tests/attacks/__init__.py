"""The attack and fault suite run against a bake on the production stack.

`stack.py` starts the stack (PostgreSQL database, Redis, the Stripe emulator, an SMTP
sink, a Celery worker and gunicorn with production settings); `harness.py` holds the
probe records and the HTTP client; each other module is one class of probes.
"""
