-- Device cookies (staff sign-in): a refused attempt sent with a device cookie valid for the
-- account is recorded under the cookie's nonce, so that a cookie used for guessing is itself
-- refused for the window, and so that such refusals do not count against the account's limit
-- for browsers without one. NULL for attempts without a valid device cookie. Pruned with the
-- other rows of the table, as they age past the window.
ALTER TABLE sign_in_failures ADD COLUMN device TEXT;
CREATE INDEX sign_in_failures_by_device ON sign_in_failures (device, at);
CREATE INDEX sign_in_failures_by_pair ON sign_in_failures (account, client, at);
