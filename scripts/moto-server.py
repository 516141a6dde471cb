"""moto server, with the DynamoDB backend's requests taken one at a time.

moto runs a cancelled TransactWriteItems by restoring a copy of the whole table it
took before the transaction, so a write another request made in between is undone;
DynamoDB isolates transactions from every other write. Taking the DynamoDB requests
one at a time (one lock around every public method of the backend) gives the
emulator that isolation; nothing else about moto changes. scripts/emulator runs
this instead of moto_server, with moto_server's arguments.
"""

import functools
import inspect
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_one_at_a_time = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with _one_at_a_time:
            return method(*args, **kwargs)

    return call


for _name, _method in list(vars(DynamoDBBackend).items()):
    if inspect.isfunction(_method) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _serialized(_method))

if __name__ == "__main__":
    sys.exit(main())
