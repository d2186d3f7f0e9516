"""moto's server for Admit's tests, with two changes from `moto_server`:

* requests are applied one at a time (a lock around the WSGI app), because
  moto's DynamoDB checks a transaction's conditions and applies it in separate
  steps; DynamoDB itself is serializable per item, and the race tests must
  measure Admit, not the emulator;
* it exits when the process that started it does, so no test run leaves a
  server behind;
* `--tls-cert`/`--tls-key` serve HTTPS, for the benchmarks that measure
  what a TLS handshake costs a function's first request;
* a transaction backs each table up once, not once per item: moto deep-copies
  the whole table for every item of `TransactWriteItems` (to roll back on a
  failed condition), so a transaction of 99 items on one table copied it 99
  times. The backup and the rollback are the same; only the repeats go.
"""

import argparse
import os
import sys
import threading
import time

import copy

import moto.dynamodb.models as dynamodb_models
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _OneBackupPerTable:
    """`copy` as `transact_write_items` sees it: `deepcopy` of a table is
    made once per transaction (its backups are all taken before any write);
    every other deep copy is the real one."""

    def __init__(self) -> None:
        self._tables: dict[int, object] = {}

    def deepcopy(self, x, memo=None):
        if isinstance(x, dynamodb_models.Table):
            if id(x) not in self._tables:
                self._tables[id(x)] = copy.deepcopy(x, memo)
            return self._tables[id(x)]
        return copy.deepcopy(x, memo)


_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _backing_up_each_table_once(self, transact_items):
    dynamodb_models.copy = _OneBackupPerTable()
    try:
        return _transact_write_items(self, transact_items)
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = _backing_up_each_table_once


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", help="and this PEM key")
    args = parser.parse_args()

    parent = os.getppid()

    def watch_parent() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch_parent, daemon=True).start()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    run_simple(args.host, args.port, serialized, threaded=True, ssl_context=tls)


if __name__ == "__main__":
    sys.exit(main())
