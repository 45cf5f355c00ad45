"""aws CLI plugin: `aws codeartifact ...` against versiongate, with a bearer token.

versiongate authenticates a JWT bearer token and refuses AWS SigV4 signatures. This plugin lets the
aws CLI (v1 and v2) send one: just before each CodeArtifact request is sent, it replaces the SigV4
Authorization header with `Bearer $VERSIONGATE_TOKEN`. Everything else (the flags, pagination,
the output) is the aws CLI's own.

It never sends the token to AWS: requests to an amazonaws.com host are left signed as usual, so the
same configuration still works against the real CodeArtifact. Without VERSIONGATE_TOKEN the request
is left as it is, and versiongate refuses it (401). Over plain http it sends the token only to a
loopback address (127.0.0.1, ::1, localhost); to any other host it refuses, and the command fails,
as versiongate's own client does: the token would cross the network in clear.

Setup (README, "Using the aws CLI"): in an aws configuration file of its own (AWS_CONFIG_FILE; with
v1, a plugin named in ~/.aws/config that Python cannot import breaks every aws command)

    [plugins]
    versiongate = versiongate_bearer
    # aws CLI v2 only: where this file is (v1 finds it on PYTHONPATH)
    cli_legacy_plugin_path = /path/to/versiongate/contrib/aws-cli

then `export VERSIONGATE_TOKEN=$(versiongate token --sub alice --group release-managers)` and
`aws codeartifact ... --endpoint-url http://127.0.0.1:8080`.
"""
import ipaddress
import os
from urllib.parse import urlsplit

TOKEN_VARIABLE = 'VERSIONGATE_TOKEN'


class PlainHttpRefused(Exception):
    """The endpoint is plain http to a host other than this machine: the token would cross the network in clear."""


def _is_aws(url):
    host = (urlsplit(url).hostname or '').lower()
    return host.endswith('.amazonaws.com') or host.endswith('.amazonaws.com.cn')


def _is_loopback(host):
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_bearer_token(request, **kwargs):
    token = os.environ.get(TOKEN_VARIABLE, '').strip()
    if not token or _is_aws(request.url):
        return None
    parts = urlsplit(request.url)
    host = (parts.hostname or '').lower()
    # As versiongate's own client: a bearer token over plain http only to this machine.
    if parts.scheme != 'https' and not _is_loopback(host):
        raise PlainHttpRefused(
            'versiongate_bearer: refusing to send the token over plain http to %s: use an https endpoint '
            '(plain http only to a loopback address such as 127.0.0.1)' % (host or request.url))
    request.headers['Authorization'] = 'Bearer ' + token
    # None: botocore goes on and sends the request (a value here would replace the response).
    return None


def awscli_initialize(cli):
    cli.register('before-send.codeartifact', send_bearer_token)
