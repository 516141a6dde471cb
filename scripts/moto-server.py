"""moto server, with the DynamoDB backend's requests taken one at a time.

moto runs a cancelled TransactWriteItems by restoring a copy of the whole table it
took before the transaction, so a write another request made in between is undone;
DynamoDB isolates transactions from every other write. Taking the DynamoDB requests
one at a time (one lock around every public method of the backend) gives the
emulator that isolation.

That copy of the whole table, taken before every transaction, also makes each
transaction as slow as the table is large: a table that the test suite filled with
thousands of items took seconds per write. With the requests taken one at a time, a
transaction keeps instead the items it names, as they were, and a cancelled one puts
them back; what DynamoDB answers does not change. scripts/emulator runs this instead
of moto_server, with moto_server's arguments.
"""

import functools
import inspect
import sys
import threading

import copy

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.server import main

_one_at_a_time = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _one_at_a_time:
            return method(*args, **kwargs)

    return call


class _TablesNotCopied:
    """moto's `copy` inside transact_write_items: tables are not copied (the items
    the transaction names are kept instead); everything else is copied as before."""

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, *args, **kwargs)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _key_of(backend, op_type, op):
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    if op_type == "Put":
        attrs = op.get("Item", {})
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        if not all(name in attrs for name in names):
            return None
        return {name: attrs[name] for name in names}
    return op.get("Key")


def _transact_write_items(self, transact_items):
    kept = []
    for item in transact_items:
        if len(item) != 1:
            continue
        op_type, op = next(iter(item.items()))
        key = _key_of(self, op_type, op)
        if key is None:
            continue
        try:
            before = self.get_item(op["TableName"], key)
        except Exception:  # moto answers the same error again below
            continue
        kept.append((op["TableName"], key, None if before is None else copy.deepcopy(before.to_json()["Attributes"])))
    dynamodb_models.copy = _TablesNotCopied
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, before in reversed(kept):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise
    finally:
        dynamodb_models.copy = copy


DynamoDBBackend.transact_write_items = _transact_write_items

for _name, _method in list(vars(DynamoDBBackend).items()):
    if inspect.isfunction(_method) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _serialized(_method))

if __name__ == "__main__":
    sys.exit(main())
