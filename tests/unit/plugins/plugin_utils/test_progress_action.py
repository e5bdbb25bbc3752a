# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device modules' action plugins show each line the module appends to its progress file once, whole,
in order, and the last ones when the module has ended."""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.plugin_utils import progress_action


def test_each_complete_line_is_shown_once_and_a_partial_line_waits(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(progress_action.display, "display", shown.append)
    path = tmp_path / "progress"
    path.write_text("")
    follower = progress_action.ProgressFollower(str(path), "register localhost")

    with open(path, "a", encoding="utf-8") as handle:
        handle.write("Batch 1 of 2: 500 devices sent\nImports fin")
    follower.show_new_lines()
    assert shown == ["register localhost: Batch 1 of 2: 500 devices sent"]

    with open(path, "a", encoding="utf-8") as handle:
        handle.write("ished: 500 of 500, after 181 s — done\n")
    follower.show_new_lines()
    follower.show_new_lines()
    assert shown[1:] == ["register localhost: Imports finished: 500 of 500, after 181 s — done"]


def test_stop_shows_what_came_after_the_last_look(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(progress_action.display, "display", shown.append)
    monkeypatch.setattr(progress_action, "FOLLOW_INTERVAL", 3600)
    path = tmp_path / "progress"
    path.write_text("")
    follower = progress_action.ProgressFollower(str(path), "task")
    follower.start()
    path.write_text("Autopilot sync completed\n")
    follower.stop()
    assert shown == ["task: Autopilot sync completed"]
