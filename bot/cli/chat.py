"""Operator commands for the chat: `flask chat intent "テキスト"` shows what the bot takes a customer's text for."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from bot.chat.intents import UNKNOWN, matcher


@click.group("chat", cls=AppGroup)
def chat_group() -> None:
    """The chat with customers."""


@chat_group.command("intent")
@click.argument("text")
def intent_command(text: str) -> None:
    """The intent the chat reads in TEXT, its score (0–1) and the runner-up."""
    guess = matcher().match(text)
    shown = (
        guess.intent if guess.intent != UNKNOWN else f"{UNKNOWN}（理解できない: メニューと担当者をご案内）"
    )
    click.echo(f"意図: {shown}  スコア: {guess.score:.2f}")
    click.echo(f"次点: {guess.runner_up}  スコア: {guess.runner_up_score:.2f}")
    click.echo(f"しきい値: {matcher().threshold:.2f}")
