"""Run every benchmark in this folder and print its figures."""

from bench import render

if __name__ == "__main__":
    render.main()
