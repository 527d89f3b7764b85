#!/usr/bin/env python3
"""A TCP proxy that makes a server slow (not a test; bench/zk.sh --slow-peer).

    delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Listens on 127.0.0.1:LISTEN_PORT and relays every connection to
127.0.0.1:TARGET_PORT.  What the client sends goes on at once; what the
server sends reaches the client DELAY_MS after it arrived (in order), so
each answer on a kept-alive TLS connection takes DELAY_MS longer (and a
TLS handshake a few times DELAY_MS).  The bytes are not looked at.
"""
import asyncio
import sys


async def pump(reader, writer, delay):
    """Copy reader to writer, each chunk delay seconds after it came."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            await queue.put((loop.time() + delay, data))
    finally:
        await queue.put((0, None))
        try:
            await sender
        except (ConnectionError, OSError):
            pass
        writer.close()


async def serve(listen_port, target_port, delay):
    async def on_client(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pump(creader, swriter, 0.0),
                             pump(sreader, cwriter, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(on_client, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS")
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000.0))


if __name__ == "__main__":
    main()
