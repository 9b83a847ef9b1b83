from anxin.cli import run

run()
