"""The "Rate hands" tab: two hands for one prompt from hidden sources, four answers, the reveal, the leaderboard.

`build_arena_tab` lays out the components and wires each event to one named handler (`ArenaHandlers`); the logic
is `demo.arena`'s. API: /arena_pair (prompt or empty -> left, right, pair id, prompt), /arena_vote (pair id,
answer, flags -> the reveal), /leaderboard (-> by family, by variant, the votes behind them).

The anonymous session: a random id signed with HANDS_SESSION_SECRET (`feedback.session`), kept in the browser
(gr.BrowserState, so a visitor keeps it across visits) and in the page's session (gr.State, which is also how an
API client keeps one across its calls). A pair can only be voted on from the session it was served to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from core import settings
from core.limits import PROMPT_MAX_CHARS
from demo import pipeline
from demo.arena import LEADERBOARD_COLUMNS, Arena
from demo.compare_tab import refused
from feedback import session as sessions
from feedback.store import ANSWERS, FLAGS, Store, StoreUnavailable, VoteRefused
from judge import Judge
from models.registry import BackendUnavailable, Registry
from prompt import PromptParser

JSON = Any  # a value as the browser or an API client sent it (preprocess=False): the arena and the store check it
INTRO = """### Which hand is better?
Two pictures drawn for the same prompt, by two hidden models (or by one model with two seeds). Pick the better hand;
mark what is wrong if you like. After your vote you see who drew which, and what the judge said of each. Your votes
build the leaderboard below and, later, teach a model to draw better hands. Nothing about you is kept but an
anonymous random id."""
BUTTONS = {"left": "⬅ Left is better", "tie": "Tie", "both_bad": "Both bad", "right": "Right is better ➡"}
FLAG_LABELS = {"extra_finger": "extra finger", "missing_finger": "missing finger", "fused": "fingers fused",
               "not_a_hand": "not a hand", "wrong_gesture": "wrong gesture"}
FAILURES = (ValueError, BackendUnavailable, pipeline.GenerationFailed, pipeline.ScoringFailed, StoreUnavailable)


@dataclass(frozen=True)
class ArenaHandlers:
    """The tab's handlers, made once per app: the arena (None when voting is off, `off` saying why) and the
    secret that signs session ids."""

    arena: Arena | None
    off: str | None
    secret: str

    def session(self, token: JSON, remembered: JSON = None) -> tuple[str, str]:
        """(session id, signed token) from the page's token, else the one the browser remembers; missing or forged
        ones get a fresh session."""
        session = sessions.session_of(token, self.secret)
        if session is None and sessions.session_of(remembered, self.secret) is not None:
            token, session = remembered, sessions.session_of(remembered, self.secret)
        if session is None:
            token = sessions.new_token(self.secret)
            session = sessions.session_of(token, self.secret)
        return session, token

    def checked_arena(self) -> Arena:
        if self.arena is None:
            raise refused(RuntimeError(f"Voting is off here: {self.off}. Comparing still works."))
        return self.arena

    def on_open(self, remembered: JSON, current: JSON) -> list[str]:
        """The page opened: keep the session it holds, else the one the browser remembers, else a new one.
        Outputs: the page's session, the browser's."""
        _, token = self.session(current, remembered)
        return [token, token]

    def on_pair(self, prompt: JSON, session: JSON) -> list:
        """Two hands for the prompt (empty: a lesson's prompt) from hidden sources, and the pair's opaque id; past
        PAIRS_PER_MINUTE a minute a session is refused before anything is drawn (`feedback.store`).
        Outputs: left, right, pair id, the prompt shown, the session."""
        arena = self.checked_arena()
        session_id, token = self.session(session)
        try:
            served = arena.serve(prompt, session_id)
        except FAILURES as err:
            raise refused(err) from None
        return [served.left, served.right, served.pair_id, f"Both drawn for: **{served.prompt}**", token]

    def on_first_pair(self, pair_id: JSON, session: JSON, remembered: JSON) -> list:
        """The tab opened: a first pair unless one is shown already. It may come before the page's load event has
        read the browser's session, so it reads it too. Outputs: /arena_pair's, then the browser's session."""
        if pair_id:
            return [gr.skip()] * 6
        _, token = self.session(session, remembered)
        served = self.on_pair("", token)
        return [*served, served[-1]]

    def on_vote(self, pair_id: JSON, answer: JSON, flags: JSON, session: JSON) -> str:
        """Count the vote on the pair (answer: left, right, tie or both_bad; flags: what is wrong) and reveal the
        sources and the judge's verdict on each picture. A retried vote is counted once."""
        arena = self.checked_arena()
        session_id, _ = self.session(session)
        try:
            return arena.vote(pair_id, answer, flags, session_id)
        except (VoteRefused, StoreUnavailable) as err:
            raise refused(err) from None

    def on_leaderboard(self) -> list:
        """Bradley–Terry ratings by family and by variant, with 95 % intervals, and the votes behind them."""
        if self.arena is None:
            empty = gr.Dataframe(headers=LEADERBOARD_COLUMNS)
            return [empty, empty, f"Voting is off here: {self.off}."]
        try:
            return list(self.arena.tables())
        except StoreUnavailable as err:
            raise refused(err) from None


@dataclass(frozen=True)
class AnswerButton:
    """One of the four answer buttons: which answer it gives is fixed when wired."""

    answer: str
    handlers: ArenaHandlers

    def on_click(self, pair_id: JSON, flags: JSON, session: JSON) -> str:
        return self.handlers.on_vote(pair_id, self.answer, flags, session)


def on_pair_shown() -> list:
    """A new pair is up: clear the reveal and the flags, let the answer buttons be pressed."""
    return ["", [], *[gr.Button(interactive=True) for _ in ANSWERS]]


def on_voted() -> list:
    """Voted: the answer buttons wait for the next pair."""
    return [gr.Button(interactive=False) for _ in ANSWERS]


def pair_view() -> tuple[gr.Textbox, gr.Button, gr.Markdown, gr.Image, gr.Image, gr.Textbox]:
    """The prompt, the new-pair button, and the two pictures side by side."""
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(label="Prompt (leave empty for one of the lessons' prompts)", scale=5,
                            max_length=PROMPT_MAX_CHARS, elem_id="arena-prompt")
        new_pair = gr.Button("New pair", variant="primary", scale=1, elem_id="arena-new")
    shown = gr.Markdown(elem_id="arena-shown")
    with gr.Row(equal_height=True):
        left, right = (gr.Image(label=side, type="pil", format="png", interactive=False, height=272, buttons=["fullscreen"],
                                elem_id=f"arena-picture-{side.lower()}") for side in ("Left", "Right"))
    pair_id = gr.Textbox(label="Pair id", visible=False)
    return prompt, new_pair, shown, left, right, pair_id


def leaderboard_view() -> tuple[gr.Dataframe, gr.Dataframe, gr.Markdown, gr.Button]:
    """The two tables and the votes behind them."""
    gr.Markdown("### Leaderboard")
    families = gr.Dataframe(headers=LEADERBOARD_COLUMNS, label="By family", interactive=False, elem_id="arena-families")
    variants = gr.Dataframe(headers=LEADERBOARD_COLUMNS, label="By family and training data", interactive=False,
                            elem_id="arena-variants")
    behind = gr.Markdown(elem_id="arena-behind")
    refresh = gr.Button("Refresh the leaderboard", size="sm", elem_id="arena-refresh")
    return families, variants, behind, refresh


@dataclass(frozen=True)
class ArenaView:
    """The tab's components."""

    tab: gr.Tab
    prompt: gr.Textbox
    new_pair: gr.Button
    shown: gr.Markdown
    left: gr.Image
    right: gr.Image
    pair_id: gr.Textbox
    buttons: dict[str, gr.Button]
    flags: gr.CheckboxGroup
    reveal: gr.Markdown
    board: list  # by family, by variant, the votes behind them
    refresh: gr.Button


def arena_view(off: str | None) -> ArenaView:
    """The "Rate hands" tab laid out: intro, prompt, the two pictures, the answers, the reveal, the leaderboard."""
    with gr.Tab("Rate hands") as tab:
        gr.Markdown(INTRO)
        if off is not None:
            gr.Markdown(f"**Voting is off here:** {off}. The other tabs work as usual.", elem_id="arena-off")
        prompt, new_pair, shown, left, right, pair_id = pair_view()
        with gr.Row():
            buttons = {answer: gr.Button(BUTTONS[answer], interactive=False, elem_id=f"arena-vote-{answer}")
                       for answer in BUTTONS}
        flags = gr.CheckboxGroup([(FLAG_LABELS[f], f) for f in FLAGS], label="What's wrong? (optional)",
                                 elem_id="arena-flags")
        reveal = gr.Markdown(elem_id="arena-reveal")
        families, variants, behind, refresh = leaderboard_view()
    return ArenaView(tab, prompt, new_pair, shown, left, right, pair_id, buttons, flags, reveal,
                     [families, variants, behind], refresh)


def build_arena_tab(registry: Registry, judge: Judge, parser: PromptParser, store: Store | StoreUnavailable,
                    concurrency_id: str, demo: gr.Blocks) -> None:
    """Add the tab (at the Blocks' level, beside the other tabs) and wire each event to its one handler, on the
    app's objects. `store`: the votes store, or why there is none (voting is off and the tab says so; the other
    tabs are not affected)."""
    arena = Arena(registry, judge, parser, store) if isinstance(store, Store) else None
    handlers = ArenaHandlers(arena, None if arena is not None else str(store), settings.session_secret())
    view = arena_view(handlers.off)
    # Outside the tab: a BrowserState inside a tab not opened yet is not mounted, so the page's load event read
    # nothing from the browser and every visit got a new session (tests/test_arena.py's browser test caught it).
    remembered = gr.BrowserState(None, storage_key="hands-arena-session", secret=handlers.secret)
    session, answer = gr.State(None), gr.Textbox(label="Answer", visible=False)
    buttons, board = list(view.buttons.values()), view.board
    demo.load(handlers.on_open, [remembered, session], [session, remembered], api_visibility="private")
    pair_out = dict(outputs=[view.left, view.right, view.pair_id, view.shown, session], concurrency_id=concurrency_id,
                    preprocess=False)
    shown_out = dict(fn=on_pair_shown, inputs=None, outputs=[view.reveal, view.flags, *buttons], api_visibility="private")
    gr.on([view.new_pair.click, view.prompt.submit], handlers.on_pair, [view.prompt, session], api_name="arena_pair",
          **pair_out).success(**shown_out)
    view.tab.select(handlers.on_first_pair, [view.pair_id, session, remembered], api_visibility="private",
                    **{**pair_out, "outputs": [*pair_out["outputs"], remembered]}).success(**shown_out)
    vote = dict(outputs=view.reveal, concurrency_limit=None, preprocess=False)
    voted = [gr.Button(visible=False).click(handlers.on_vote, [view.pair_id, answer, view.flags, session],
                                            api_name="arena_vote", **vote)]
    voted += [view.buttons[a].click(AnswerButton(a, handlers).on_click, [view.pair_id, view.flags, session],
                                    api_visibility="private", **vote) for a in view.buttons]
    progress = dict(api_visibility="private", concurrency_id="leaderboard", show_progress="minimal")
    for done in voted:
        done.success(on_voted, None, buttons, api_visibility="private").then(handlers.on_leaderboard, None, board, **progress)
    view.refresh.click(handlers.on_leaderboard, None, board, api_name="leaderboard", concurrency_id="leaderboard")
    view.tab.select(handlers.on_leaderboard, None, board, **progress)
