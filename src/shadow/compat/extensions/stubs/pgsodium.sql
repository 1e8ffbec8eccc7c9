-- Stand-in for pgsodium, which vanilla Postgres lacks and hosted Supabase has installed in
-- every Postgres 15 project (deprecated since): its key table and view, create_key, the
-- libsodium functions migrations call most, and its roles, with the rights `postgres`
-- has on them. Nothing is encrypted: the AEAD and secretbox functions return the message
-- as given and decryption gives it back, so a round trip works while the cipher itself
-- is not tested. Hashes and MACs come from pgcrypto (SHA-256 where libsodium uses
-- BLAKE2b): same lengths, other bytes.
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['pgsodium_keyholder', 'pgsodium_keyiduser', 'pgsodium_keymaker'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', name);
    END IF;
  END LOOP;
END
$$;
CREATE SCHEMA IF NOT EXISTS pgsodium;
CREATE TYPE pgsodium.key_type AS ENUM (
  'aead-ietf', 'aead-det', 'hmacsha512', 'hmacsha256', 'auth', 'shorthash', 'generichash',
  'kdf', 'secretbox', 'secretstream', 'stream_xchacha20');
CREATE TYPE pgsodium.key_status AS ENUM ('default', 'valid', 'invalid', 'expired');
CREATE TYPE pgsodium.crypto_box_keypair AS (public bytea, secret bytea);
CREATE TYPE pgsodium.crypto_sign_keypair AS (public bytea, secret bytea);
CREATE TABLE pgsodium.key (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  status pgsodium.key_status DEFAULT 'valid',
  created timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires timestamptz,
  key_type pgsodium.key_type,
  key_id bigserial,
  key_context bytea DEFAULT '\x7067736f6469756d',
  name text UNIQUE,
  associated_data text DEFAULT 'associated',
  raw_key bytea,
  raw_key_nonce bytea,
  parent_key uuid REFERENCES pgsodium.key (id),
  comment text,
  user_data text
);
CREATE VIEW pgsodium.valid_key AS
  SELECT id, name, status, key_type, key_id, key_context, created, expires, associated_data
  FROM pgsodium.key
  WHERE status IN ('valid', 'default') AND (expires IS NULL OR expires > now());
CREATE FUNCTION pgsodium.create_key(
  key_type pgsodium.key_type DEFAULT 'aead-det', name text DEFAULT NULL,
  raw_key bytea DEFAULT NULL, raw_key_nonce bytea DEFAULT NULL, parent_key uuid DEFAULT NULL,
  key_context bytea DEFAULT '\x7067736f6469756d', expires timestamptz DEFAULT NULL,
  associated_data text DEFAULT ''
) RETURNS pgsodium.valid_key LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  new_key uuid;
  made pgsodium.valid_key;
BEGIN
  INSERT INTO pgsodium.key (key_type, name, raw_key, raw_key_nonce, parent_key, key_context,
                            expires, associated_data)
  VALUES (key_type, name, raw_key, raw_key_nonce, parent_key, key_context, expires,
          associated_data)
  RETURNING id INTO new_key;
  SELECT * INTO made FROM pgsodium.valid_key v WHERE v.id = new_key;
  RETURN made;
END
$$;
CREATE FUNCTION pgsodium.randombytes_random() RETURNS integer LANGUAGE sql VOLATILE AS $$
  SELECT (random() * 2147483647)::integer
$$;
CREATE FUNCTION pgsodium.randombytes_uniform(upper_bound integer) RETURNS integer
LANGUAGE sql VOLATILE AS $$
  SELECT floor(random() * upper_bound)::integer
$$;
CREATE FUNCTION pgsodium.randombytes_buf(size integer) RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(size)
$$;
-- Key and nonce makers of the right lengths.
CREATE FUNCTION pgsodium.crypto_aead_det_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(32)
$$;
CREATE FUNCTION pgsodium.crypto_aead_det_noncegen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(16)
$$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(32)
$$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_noncegen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(12)
$$;
CREATE FUNCTION pgsodium.crypto_secretbox_keygen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(32)
$$;
CREATE FUNCTION pgsodium.crypto_secretbox_noncegen() RETURNS bytea LANGUAGE sql VOLATILE AS $$
  SELECT extensions.gen_random_bytes(24)
$$;
-- Deterministic AEAD: with a key given as bytes, a key's uuid, or a derived key's id.
CREATE FUNCTION pgsodium.crypto_aead_det_encrypt(message bytea, additional bytea, key bytea, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_det_encrypt(message bytea, additional bytea, key_uuid uuid, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_det_encrypt(message bytea, additional bytea, key_id bigint, context bytea DEFAULT '\x7067736f6469756d', nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_det_decrypt(message bytea, additional bytea, key bytea, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_det_decrypt(message bytea, additional bytea, key_uuid uuid, nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_det_decrypt(message bytea, additional bytea, key_id bigint, context bytea DEFAULT '\x7067736f6469756d', nonce bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
-- IETF AEAD: the nonce comes before the key.
CREATE FUNCTION pgsodium.crypto_aead_ietf_encrypt(message bytea, additional bytea, nonce bytea, key bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_encrypt(message bytea, additional bytea, nonce bytea, key_uuid uuid)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_encrypt(message bytea, additional bytea, nonce bytea, key_id bigint, context bytea DEFAULT '\x7067736f6469756d')
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_decrypt(message bytea, additional bytea, nonce bytea, key bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_decrypt(message bytea, additional bytea, nonce bytea, key_uuid uuid)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_aead_ietf_decrypt(message bytea, additional bytea, nonce bytea, key_id bigint, context bytea DEFAULT '\x7067736f6469756d')
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_secretbox(message bytea, nonce bytea, key bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_secretbox(message bytea, nonce bytea, key_uuid uuid)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT message $$;
CREATE FUNCTION pgsodium.crypto_secretbox_open(ciphertext bytea, nonce bytea, key bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT ciphertext $$;
CREATE FUNCTION pgsodium.crypto_secretbox_open(ciphertext bytea, nonce bytea, key_uuid uuid)
RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT ciphertext $$;
CREATE FUNCTION pgsodium.crypto_generichash(message bytea, key bytea DEFAULT NULL)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN key IS NULL THEN extensions.digest(message, 'sha256')
              ELSE extensions.hmac(message, key, 'sha256') END
$$;
CREATE FUNCTION pgsodium.crypto_auth_hmacsha256(message bytea, secret bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT extensions.hmac(message, secret, 'sha256') $$;
CREATE FUNCTION pgsodium.crypto_auth_hmacsha512(message bytea, secret bytea)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$ SELECT extensions.hmac(message, secret, 'sha512') $$;
CREATE FUNCTION pgsodium.crypto_box_new_keypair() RETURNS pgsodium.crypto_box_keypair
LANGUAGE sql VOLATILE AS $$
  SELECT ROW(extensions.gen_random_bytes(32), extensions.gen_random_bytes(32))::pgsodium.crypto_box_keypair
$$;
CREATE FUNCTION pgsodium.crypto_sign_new_keypair() RETURNS pgsodium.crypto_sign_keypair
LANGUAGE sql VOLATILE AS $$
  SELECT ROW(extensions.gen_random_bytes(32), extensions.gen_random_bytes(64))::pgsodium.crypto_sign_keypair
$$;
GRANT USAGE ON SCHEMA pgsodium TO "{role}", pgsodium_keyholder, pgsodium_keyiduser, pgsodium_keymaker;
GRANT SELECT ON pgsodium.valid_key TO "{role}", pgsodium_keyiduser;
GRANT SELECT, INSERT, UPDATE, DELETE ON pgsodium.key TO "{role}", pgsodium_keymaker;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgsodium TO "{role}", pgsodium_keyholder, pgsodium_keyiduser, pgsodium_keymaker;
GRANT pgsodium_keyholder, pgsodium_keyiduser, pgsodium_keymaker TO "{role}" WITH ADMIN OPTION;
-- migration-guard: on drop
DROP SCHEMA IF EXISTS pgsodium CASCADE;
