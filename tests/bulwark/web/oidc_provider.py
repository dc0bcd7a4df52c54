"""A small OpenID Connect provider on loopback for the single sign-on tests: discovery, an
authorization endpoint with a password form, the token endpoint (authorization code, client
secret, PKCE S256) issuing RS256-signed ID tokens, JWKS and userinfo. It speaks the protocol
on real HTTP; only its user store is a dict. Every request it receives is recorded."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.serving import serve_in_thread


@dataclass
class Person:
    password: str
    claims: dict[str, Any]


@dataclass
class Provider:
    client_id: str
    client_secret: str
    redirect_uri: str
    people: dict[str, Person]
    issuer: str = ""
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    audience: str = ""  # set to issue ID tokens for another client (attack test)

    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def id_token(self, username: str, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.people[username].claims["sub"],
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + 300,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

    def do_GET(self) -> None:
        p = self.provider
        url = urlsplit(self.path)
        p.seen.append(f"GET {url.path}")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._send(
                200,
                {
                    "issuer": p.issuer,
                    "authorization_endpoint": f"{p.issuer}/authorize",
                    "token_endpoint": f"{p.issuer}/token",
                    "userinfo_endpoint": f"{p.issuer}/userinfo",
                    "jwks_uri": f"{p.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                },
            )
        elif url.path == "/authorize":
            if query.get("client_id") != p.client_id or query.get("redirect_uri") != p.redirect_uri:
                self._send(400, {"error": "unauthorized_client"})
                return
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in query.items()
            )
            form = (
                f'<form method="post" action="/authorize">{hidden}'
                '<input name="username"><input name="password" type="password"></form>'
            )
            self._send(200, form, "text/html")
        elif url.path == "/jwks":
            jwk = json.loads(RSAAlgorithm.to_jwk(p.key.public_key()))
            jwk.update(kid=p.kid, use="sig", alg="RS256")
            self._send(200, {"keys": [jwk]})
        elif url.path == "/userinfo":
            auth = self.headers.get("Authorization", "")
            username = p.tokens.get(auth.removeprefix("Bearer "))
            if username is None:
                self._send(401, {"error": "invalid_token"})
                return
            self._send(200, p.people[username].claims)
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        p = self.provider
        url = urlsplit(self.path)
        p.seen.append(f"POST {url.path}")
        form = self._form()
        if url.path == "/authorize":
            person = p.people.get(form.get("username", ""))
            if person is None or not secrets.compare_digest(
                person.password, form.get("password", "")
            ):
                self._send(401, "wrong user name or password", "text/plain")
                return
            code = secrets.token_urlsafe(16)
            p.codes[code] = {**form}
            self.send_response(302)
            location = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form['state']})}"
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/token":
            grant = p.codes.pop(form.get("code", ""), None)  # single use
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                grant is None
                or form.get("client_id") != p.client_id
                or form.get("client_secret") != p.client_secret
                or form.get("redirect_uri") != grant["redirect_uri"]
                or grant.get("code_challenge", challenge) != challenge
            ):
                self._send(400, {"error": "invalid_grant"})
                return
            access = secrets.token_urlsafe(24)
            p.tokens[access] = grant["username"]
            token = p.id_token(grant["username"], grant.get("nonce"))
            self._send(
                200,
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": token,
                },
            )
        else:
            self._send(404, {"error": "not_found"})


@contextmanager
def running(provider: Provider) -> Iterator[Provider]:
    """Serve `provider` on a loopback port (its issuer URL is set) until the block ends."""
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    serve_in_thread(server)
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
