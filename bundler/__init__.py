"""bundler: verified, reproducible air-gap bundles for Apache Storm and ZooKeeper."""

__version__ = "0.1.0"
