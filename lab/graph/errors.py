"""Graph's error responses: {"error": {"code", "message", "innerError": {...}}}."""


class GraphError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message, code="BadRequest"):
    return GraphError(400, code, message)
