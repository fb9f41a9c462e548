"""OpenAPI generation details that drf-spectacular cannot infer."""

from drf_spectacular.openapi import AutoSchema


class EnvelopeAutoSchema(AutoSchema):
    """The envelope endpoint needs a body: say so (`requestBody.required`).

    drf-spectacular infers it from a serializer's required fields, which a
    one-of-the-messages request shape (PolymorphicProxySerializer) has none of.
    """

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body
