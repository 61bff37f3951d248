"""Run every benchmark in this folder and print its figures."""

from bench import lint, render, sdk

if __name__ == "__main__":
    render.main()
    sdk.main()
    lint.main()
