from bundler.cli.entry import main

main()
