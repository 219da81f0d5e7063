"""A tiny SMTP server on loopback that keeps every message, and can go down and up."""

import asyncio
import threading


class SmtpSink:
    """Accepts mail on 127.0.0.1:port in a thread; `down()` closes the port."""

    def __init__(self, port):
        self.port = port
        self.messages = []
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self):
        self._thread.start()
        self.up()
        return self

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def up(self):
        """Listen again (on the same port)."""

        async def listen():
            self._server = await asyncio.start_server(
                self._session, "127.0.0.1", self.port, reuse_address=True
            )

        self._call(listen())

    def down(self):
        """Stop listening: the site's next message meets a refused connection."""

        async def close():
            self._server.close()
            await self._server.wait_closed()

        self._call(close())

    def stop(self):
        if self._server is not None:
            self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _session(self, reader, writer):
        def reply(line):
            writer.write(line.encode() + b"\r\n")

        reply("220 sink ESMTP")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    reply("250 sink")
                elif verb == b"DATA":
                    reply("354 end with .")
                    data = await reader.readuntil(b"\r\n.\r\n")
                    self.messages.append(data.decode(errors="replace"))
                    reply("250 queued")
                elif verb == b"QUIT":
                    reply("221 bye")
                    break
                else:
                    reply("250 ok")
                await writer.drain()
        finally:
            writer.close()
