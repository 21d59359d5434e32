"""Code the tests share: the test mirror and its server, stand-in daemons, bundles, hosts."""
