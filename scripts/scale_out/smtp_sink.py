#!/usr/bin/env python3
"""A loopback SMTP sink for scripts/scale_out.sh: accepts every message on the given ports and
appends one line per accepted message, "PORT<TAB>Message-ID", to a file, written and flushed
before the 250 that tells the sender it was accepted. Each server instance gets its own port, so
the port says which instance sent the message.

Usage: smtp_sink.py OUTPUT_FILE PORT [PORT ...]   (stops on SIGTERM)
"""
import asyncio
import signal
import sys

MAX_LINE = 1 << 20  # an SMTP line longer than this ends the session


async def session(reader, writer, port, out):
    def reply(text):
        writer.write(text.encode() + b"\r\n")

    reply("220 127.0.0.1 scale-out sink")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                reply("250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                reply("250 OK")
            elif verb == b"DATA":
                reply("354 end with <CRLF>.<CRLF>")
                await writer.drain()
                message_id, in_headers = None, True
                while True:
                    data = await reader.readline()
                    if not data or data == b".\r\n":
                        break
                    if in_headers:
                        if data in (b"\r\n", b"\n"):
                            in_headers = False
                        elif data.lower().startswith(b"message-id:"):
                            message_id = data.split(b":", 1)[1].strip().decode("ascii", "replace")
                if not data:
                    break
                out.write(f"{port}\t{message_id or '(none)'}\n")
                out.flush()
                reply("250 accepted")
            elif verb == b"QUIT":
                reply("221 bye")
                await writer.drain()
                break
            else:
                reply("502 not implemented")
            await writer.drain()
    except (ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def main(path, ports):
    out = open(path, "a", encoding="ascii", errors="replace")
    servers = []
    for port in ports:
        servers.append(
            await asyncio.start_server(
                lambda r, w, port=port: session(r, w, port, out),
                "127.0.0.1",
                port,
                limit=MAX_LINE,
            )
        )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"smtp sink listening on {', '.join(map(str, ports))}", file=sys.stderr, flush=True)
    await stop.wait()
    for server in servers:
        server.close()
    out.close()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], [int(p) for p in sys.argv[2:]]))
