"""A local, stateful stand-in for the Stripe API, for development and tests only.

`engine.Engine` holds the state; `python -m stripe_emulator` serves it over HTTP
(`server.py`, with the hosted pages in `pages.py`); `client.EmulatorHTTPClient` and the
`stripe_emulator` pytest fixture (`pytest_plugin.py`) run it in-process.
"""
