"""A local, stateful stand-in for the Stripe API, for development and tests only.

`engine.Engine` is the emulated account (its state in `store.Store`, one module per
resource family); `python -m stripe_emulator` serves it over HTTP (`server.py`, with
the hosted pages in `pages.py`); `client.EmulatorHTTPClient` and the
`stripe_emulator` pytest fixture (`pytest_plugin.py`) run it in-process.
"""

__version__ = "0.1.0"
