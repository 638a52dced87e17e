DROP TABLE jobs;
DROP TABLE emails;
DROP TABLE fetch_cursors;
DROP TABLE connected_accounts;
