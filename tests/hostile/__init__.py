"""What a hostile client can do over HTTP and WebSocket, against real servers."""
