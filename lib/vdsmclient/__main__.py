"""vdsm-client [-a HOST] [-p PORT] [--insecure] [--timeout S] [-f FILE|-]
Namespace verb [name=value ...]

Help for namespaces, verbs and params comes from the schema. A value is
taken as a string where the schema says string, else parsed as JSON. The
result is printed as JSON; any error prints one clear line on stderr and
exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

from vdsm import client
from vdsm.api.schema import Schema, Verb


def namespaces(schema: Schema) -> dict[str, dict[str, Verb]]:
    spaces: dict[str, dict[str, Verb]] = {}
    for name, verb in sorted(schema.verbs.items()):
        ns, _, short = name.partition(".")
        spaces.setdefault(ns, {})[short] = verb
    return spaces


def type_name(type_: Any) -> str:
    return f"[{type_name(type_[0])}]" if isinstance(type_, list) else \
        str(type_)


def build_parser(schema: Schema) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vdsm-client",
        description="Call the Vdsm API of a host (JSON-RPC over STOMP).")
    parser.add_argument("-a", "--host", default="localhost",
                        help="host to connect to (default localhost)")
    parser.add_argument("-p", "--port", type=int, default=54321,
                        help="port (default 54321)")
    parser.add_argument("--insecure", action="store_true",
                        help="plain TCP, no TLS (server with ssl = false)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds to wait for the response")
    parser.add_argument("--pki-dir", default=os.environ.get(
        "VDSM_PKI_DIR", client.DEFAULT_PKI),
        help="client credentials: keys/vdsmkey.pem, certs/vdsmcert.pem, "
        "certs/cacert.pem (default /etc/pki/vdsm)")
    parser.add_argument("-f", "--file", metavar="FILE",
                        help="read params as a JSON object from FILE "
                        "('-' for stdin)")
    parser.add_argument("--flow-id", help="ovirtCorrelationId of the call")
    sub = parser.add_subparsers(dest="namespace", metavar="Namespace")
    sub.required = True
    for ns, verbs in namespaces(schema).items():
        ns_parser = sub.add_parser(ns, help=f"{len(verbs)} verbs")
        verb_sub = ns_parser.add_subparsers(dest="verb", metavar="verb")
        verb_sub.required = True
        for short, verb in verbs.items():
            first = verb.description.strip().split("\n")[0]
            epilog = "\n".join(
                f"  {p.name}={type_name(p.type)}"
                f"{' (optional)' if p.optional else ''}: "
                f"{' '.join(p.description.split())}" for p in verb.params)
            v = verb_sub.add_parser(
                short, help=first, description=verb.description,
                epilog="params:\n" + epilog if epilog else None,
                formatter_class=argparse.RawDescriptionHelpFormatter)
            v.add_argument("params", nargs="*", metavar="name=value")
    return parser


def parse_params(verb: Verb, args: list[str]) -> dict[str, Any]:
    types = {p.name: p.type for p in verb.params}
    params: dict[str, Any] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise ValueError(f"expected name=value, got {arg!r}")
        if name not in types:
            known = ", ".join(types) or "none"
            raise ValueError(f"unknown param {name!r} (params: {known})")
        if types[name] == "string":
            params[name] = value
        else:
            try:
                params[name] = json.loads(value)
            except ValueError:
                params[name] = value
    return params


def read_file(path: str) -> dict[str, Any]:
    if path == "-":
        data = json.load(sys.stdin)
    else:
        with open(path) as f:
            data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("params file must hold a JSON object")
    return data


def main(argv: list[str] | None = None) -> int:
    # Output piped into head or less: die quietly when the reader goes.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    schema = Schema()
    args = build_parser(schema).parse_args(argv)
    method = f"{args.namespace}.{args.verb}"
    try:
        params = read_file(args.file) if args.file else {}
        params.update(parse_params(schema.verbs[method], args.params))
        ctx = None
        if not args.insecure:
            ctx = client.client_ssl_context(args.pki_dir)
        with client.connect(args.host, args.port, ssl_context=ctx,
                            use_tls=not args.insecure,
                            timeout=args.timeout) as cli:
            result = cli.call(method, params, flow_id=args.flow_id)
    except client.ServerError as e:
        print(f"vdsm-client: {method} failed (code {e.code}): {e.message}",
              file=sys.stderr)
        return 1
    except (client.Error, OSError, ValueError) as e:
        print(f"vdsm-client: {method}: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=4, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
