"""aiohttp server: app factory (composition root), REST, WebSocket, auth, static client."""
