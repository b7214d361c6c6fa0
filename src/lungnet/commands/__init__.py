"""One module per `lungnet` subcommand; each provides ``register(subparsers)``."""
