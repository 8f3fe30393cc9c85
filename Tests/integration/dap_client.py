"""A small Debug Adapter Protocol client: what VS Code does with debugpy's adapter
(`python -m debugpy.adapter`, DAP over its stdin/stdout, `Content-Length` framing)."""
from __future__ import annotations

import json
import queue
import subprocess
import threading
import time


class DapError(AssertionError):
    pass


class DapClient:
    def __init__(self, command, cwd, env):
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.seq = 0
        self.inbox: queue.Queue = queue.Queue()
        self.seen: list = []  # every message received, in order, for failure messages
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    self.inbox.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            self.inbox.put(json.loads(stream.read(int(headers["content-length"]))))

    def send(self, command: str, arguments=None) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments or {}}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return self.seq

    def wait_for(self, matches, timeout=60.0, what="message"):
        """The first message (not seen before) for which `matches` is true; answers reverse requests."""
        for message in self.seen:
            if not message.get("_taken") and matches(message):
                message["_taken"] = True
                return message
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self.inbox.get(timeout=max(remaining, 0))
            except queue.Empty:
                raise DapError(f"no {what} within {timeout} s; received:\n{self.transcript()}") from None
            if message is None:
                raise DapError(f"the adapter closed its output before {what}; received:\n{self.transcript()}")
            self.seen.append(message)
            if matches(message):
                message["_taken"] = True
                return message

    def response(self, seq: int, timeout=60.0) -> dict:
        message = self.wait_for(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout,
                                f"response to request {seq}")
        if not message.get("success"):
            raise DapError(f"request {seq} failed: {message}\n{self.transcript()}")
        return message

    def request(self, command: str, arguments=None, timeout=60.0) -> dict:
        return self.response(self.send(command, arguments), timeout)

    def event(self, name: str, timeout=60.0) -> dict:
        return self.wait_for(lambda m: m.get("type") == "event" and m.get("event") == name, timeout, f"event {name}")

    def output(self) -> str:
        return "".join(m["body"].get("output", "") for m in self.seen if m.get("event") == "output")

    def transcript(self) -> str:
        lines = []
        for m in self.seen[-40:]:
            kind = m.get("event") or m.get("command")
            lines.append(f"  {m.get('type')} {kind}: {json.dumps(m.get('body'))[:300]}")
        return "\n".join(lines)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("disconnect", {"terminateDebuggee": True})
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()
