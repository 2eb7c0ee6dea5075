"""Echo guard: the server's own question audio taken back out of the microphone.

``guard`` holds :class:`EchoGuard` (the per-session entry point); ``timeline`` keeps the
references on the server clock, ``delay`` finds the echo delay, ``path`` fits and
subtracts the echo path, ``gate`` mutes what is left while no candidate voice is heard.
"""

from voice_interview.audio.echo.guard import EchoGuard

__all__ = ["EchoGuard"]
