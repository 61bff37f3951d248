"""Run every benchmark in this folder and print its figures."""

from bench import http, lint, push, render, sdk

if __name__ == "__main__":
    render.main()
    sdk.main()
    lint.main()
    http.main()
    push.main()
