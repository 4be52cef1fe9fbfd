-- Who is appealing (#10): the full name is typed or confirmed in the dialog and kept in
-- contact_name as before; a citizen may add where a written answer goes, an e-mail or a
-- postal address. Personal data like the phone: /forget erases both columns.
ALTER TABLE appeals ADD COLUMN contact_address TEXT;
ALTER TABLE appeals ADD COLUMN contact_address_kind TEXT
    CHECK (contact_address_kind IN ('email', 'postal'));
