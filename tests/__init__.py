"""bundler's tests, a package so that test code imports shared code as tests.support."""
