"""What every CLI shares: quiet TensorFlow start-up and clean, specific errors."""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# Errors a user can fix from the message alone: print it, no traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, KeyError)


def fail(error):
  """Prints `error` as one line on stderr and exits with status 2."""
  msg = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
  sys.stderr.write(f'error: {msg}\n')
  sys.exit(2)


def print_json(result, path=None):
  """Prints `result` as JSON and, if `path` is given, writes it there too."""
  text = json.dumps(result, indent=2, sort_keys=True)
  print(text)
  if path:
    with open(path, 'w') as f:
      f.write(text + '\n')
