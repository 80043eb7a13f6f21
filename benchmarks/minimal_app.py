"""A minimal Typer app: one command with a str option and an int option, for the
start-up rows (its ratio to ``python -c "import typer"`` shows what a Typer release costs
an app before the app does anything).

    python benchmarks/minimal_app.py --name Dana --count 2
"""

import typer

app = typer.Typer(add_completion=False)


@app.command()
def greet(
    name: str = typer.Option("world", help="Who to greet."),
    count: int = typer.Option(1, help="How many times."),
) -> None:
    """Greet NAME, COUNT times."""
    for _ in range(count):
        print(f"Hello, {name}")


if __name__ == "__main__":
    app()
