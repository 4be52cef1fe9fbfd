"""The rules of a meeting's details and a citizen's question in advance (issue #13)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.announcements import (
    ATTENDED_MAX,
    MEETING,
    MEETING_TEXT_MAX,
    TEXT_MAX,
    MeetingChangeProblem,
    MeetingFieldProblem,
    check_attended,
    check_meeting_line,
    check_move,
    check_question,
    check_topics,
    may_enter_attended,
    parse_meeting_time,
    text_max,
    topic_of,
)
from bot.domain.receptions import ACCESS_NEEDS, access_codes, access_mask

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)


def test_the_time_is_local_and_ahead() -> None:
    when = parse_meeting_time(" 25.11.2026  15:30 ", NOW)
    assert when.problem is None and when.at == datetime(2026, 11, 25, 15, 30, tzinfo=ALMATY)
    assert parse_meeting_time("23.11.2026 09:59", NOW).problem == MeetingFieldProblem.PAST
    assert parse_meeting_time("23.11.2026 10:00", NOW).problem == MeetingFieldProblem.PAST
    assert parse_meeting_time("завтра в 10", NOW).problem == MeetingFieldProblem.NOT_A_TIME
    assert parse_meeting_time("31.02.2027 10:00", NOW).problem == MeetingFieldProblem.NOT_A_TIME
    assert parse_meeting_time("", NOW).problem == MeetingFieldProblem.EMPTY


def test_topics_one_a_line_bullets_dropped_repeats_once() -> None:
    checked = check_topics("1. Жол жөндеу\n- Көше жарығы\n\n• жол ЖӨНДЕУ\n  Су  құбыры ")
    assert checked.problem is None
    assert checked.topics == ("Жол жөндеу", "Көше жарығы", "Су құбыры")
    assert check_topics("\n \n").problem == MeetingFieldProblem.EMPTY
    assert check_topics("\n".join(f"Тақырып {n}" for n in range(7))).problem == (
        MeetingFieldProblem.TOO_MANY
    )
    assert check_topics("Жол\nА").problem == MeetingFieldProblem.TOO_SHORT
    assert check_topics("Ж" * 51).problem == MeetingFieldProblem.TOO_LONG


def test_who_and_where_are_one_line() -> None:
    assert check_meeting_line(" Аким\n  Ә. Б. ", 200).text == "Аким Ә. Б."
    assert check_meeting_line("Ак", 200).problem == MeetingFieldProblem.TOO_SHORT
    assert check_meeting_line("А" * 201, 200).problem == MeetingFieldProblem.TOO_LONG


def test_a_question_is_10_to_1000_characters() -> None:
    assert check_question("Шам  қашан\n\n\n\nжанады?").text == "Шам қашан\n\nжанады?"
    assert check_question("Неге?").problem == MeetingFieldProblem.TOO_SHORT
    assert check_question("Ә" * 1001).problem == MeetingFieldProblem.TOO_LONG
    assert check_question(None).problem == MeetingFieldProblem.EMPTY


def test_a_topic_button_is_an_index_or_another_anything_else_is_forged() -> None:
    topics = ("Жол", "Жарық")
    assert topic_of(topics, "1") == (True, 1)
    assert topic_of(topics, "-") == (True, None)
    assert topic_of(topics, "2") == (False, None)
    assert topic_of(topics, "x") == (False, None)
    assert topic_of(topics, "١") == (False, None)  # a digit, not an ASCII one


def test_access_needs_ride_on_a_button_as_bits() -> None:
    assert access_codes(access_mask(["companion", "wheelchair"])) == ("wheelchair", "companion")
    assert access_codes(access_mask(ACCESS_NEEDS)) == ACCESS_NEEDS
    assert access_mask(["forged"]) == 0 and access_codes(64) == ()


def test_a_meetings_text_leaves_room_for_its_heading() -> None:
    assert text_max(MEETING) == MEETING_TEXT_MAX < TEXT_MAX == text_max("notice")


def test_only_a_meeting_still_ahead_moves_and_only_to_a_future_time() -> None:
    at = datetime(2026, 11, 25, 15, 0, tzinfo=ALMATY)
    later = datetime(2026, 11, 27, 11, 0, tzinfo=ALMATY)
    assert check_move(at, False, NOW) is None
    assert check_move(at, False, NOW, later) is None
    assert check_move(at, True, NOW, later) == MeetingChangeProblem.CANCELLED
    assert check_move(NOW, False, NOW, later) == MeetingChangeProblem.BEGUN
    assert check_move(at, False, NOW, NOW) == MeetingChangeProblem.PAST
    # The same time: only with another place is it a move.
    assert check_move(at, False, NOW, at) == MeetingChangeProblem.SAME
    assert check_move(at, False, NOW, at, same_place=False) is None


def test_how_many_came_is_a_whole_number_up_to_the_limit_after_the_meeting() -> None:
    assert check_attended(" 45 ").count == 45
    assert check_attended("1 200").count == 1200
    assert check_attended("0").count == 0 and check_attended("0").problem is None
    assert check_attended(str(ATTENDED_MAX)).problem is None
    assert check_attended(str(ATTENDED_MAX + 1)).problem == MeetingFieldProblem.TOO_MANY
    for wrong in ("-3", "4.5", "сорок", "45 человек", "٤٥"):
        assert check_attended(wrong).problem == MeetingFieldProblem.NOT_A_NUMBER, wrong
    assert check_attended("").problem == MeetingFieldProblem.EMPTY
    at = datetime(2026, 11, 22, 15, 0, tzinfo=ALMATY)
    assert may_enter_attended(at, False, NOW) is None
    assert may_enter_attended(NOW, False, NOW) is None  # from its start
    assert may_enter_attended(at, True, NOW) == MeetingChangeProblem.CANCELLED
    ahead = datetime(2026, 11, 25, 15, 0, tzinfo=ALMATY)
    assert may_enter_attended(ahead, False, NOW) == MeetingChangeProblem.NOT_YET


def test_a_question_that_shows_nothing_is_empty() -> None:
    assert check_question("\u200b" * 20).problem == MeetingFieldProblem.EMPTY
    assert check_question("\u2800" * 20).problem == MeetingFieldProblem.EMPTY
    assert check_question("\u200bНеге?" + "\u200b" * 8).problem == MeetingFieldProblem.TOO_SHORT
    assert check_question("Жарық қашан жанады?").problem is None
