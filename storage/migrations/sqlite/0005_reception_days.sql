-- One-off sessions officials add from their chat, on top of the catalog's schedule.
CREATE TABLE reception_extra_days (
    reception   TEXT NOT NULL,
    session_day TEXT NOT NULL,
    added_by    INTEGER NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (reception, session_day)
);
