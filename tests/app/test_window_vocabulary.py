"""One name for one thing across the window: what a menu item calls a panel or a switch
is what its dock's tab, its button or its check box says (an analyst following "View >
Go to Review Table" looks for a tab of that name)."""

from __future__ import annotations

from app.widgets.action_button import without_mnemonic


def test_the_view_menu_names_each_panel_as_its_dock_tab_does(window):
    docks = {dock.objectName(): dock for dock in window.docks}
    for dock in window.docks:
        assert without_mnemonic(dock.toggleViewAction().text()) == dock.windowTitle()
    assert without_mnemonic(window.goto_sites_action.text()) == f"Go to {docks['site_review_dock'].windowTitle()}"
    assert without_mnemonic(window.goto_review_action.text()) == f"Go to {docks['review_dock'].windowTitle()}"


def test_view_show_decided_sites_is_named_as_the_sites_panels_check_box(window):
    from app.panels.site_review_panel import SiteReviewPanel

    box = window.panel(SiteReviewPanel).show_decided
    assert without_mnemonic(window.show_decided_action.text()).lower() == box.text().lower()


def test_the_sites_step_buttons_say_what_they_step_through(window):
    """They read "◀ (P)" and "(N) ▶": a first-time analyst could not tell what they do."""
    from app.panels.site_review_panel import SiteReviewPanel

    buttons = window.panel(SiteReviewPanel).buttons
    assert buttons["previous"].text() == "◀ Previous site (P)"
    assert buttons["next"].text() == "Next site (N) ▶"
    assert "previous site" in buttons["previous"].toolTip() and "next site" in buttons["next"].toolTip()


def test_the_without_mnemonic_text_keeps_the_ellipsis_and_a_doubled_ampersand():
    assert without_mnemonic("&Open Video or Project…") == "Open Video or Project…"
    assert without_mnemonic("Save && Go &On") == "Save & Go On"
