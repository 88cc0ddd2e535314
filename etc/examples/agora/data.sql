-- Agora's data, made the same every time: psql -v users=U -v per=P -f data.sql
-- gives U users and, for each, P rows of every table they own (children:
-- two or three a parent).  Ids are md5 of the table and the row's number;
-- row i of every owned table belongs to user 1 + i % U, so a row refers
-- to row i of another table and stays with its owner.  Times are whole
-- seconds from 2025-01-01, amounts whole paise.  U=950 P=20 is 1,042,816
-- rows.
\set ON_ERROR_STOP on
SET TIME ZONE 'UTC';
SET synchronous_commit = off;

CREATE FUNCTION pg_temp.uid(t text, i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
  AS $$ SELECT md5(t || ':' || i)::uuid $$;
CREATE FUNCTION pg_temp.at(i bigint, step_s int) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  AS $$ SELECT timestamptz '2025-01-01 00:00:00+00' + make_interval(secs => i * step_s) $$;
CREATE FUNCTION pg_temp.money(i bigint, m int) RETURNS numeric LANGUAGE sql IMMUTABLE
  AS $$ SELECT ((i * 7919) % m + 100) / 100.0 $$;
CREATE FUNCTION pg_temp.pick(i bigint, VARIADIC xs text[]) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT xs[1 + (i % array_length(xs, 1))] $$;

SELECT :users * :per AS n \gset

INSERT INTO users (id, username, email, password_hash, created_at)
SELECT u, 'user' || u, 'user' || u || '@example.com', '!', pg_temp.at(u, 60)
FROM generate_series(1, :users) u;
SELECT setval('users_id_seq', :users);
INSERT INTO categories (name) SELECT 'category ' || c FROM generate_series(1, 12) c;
INSERT INTO tags (name) SELECT 'tag' || t FROM generate_series(1, 20) t;

INSERT INTO profiles (id, user_id, display_name, bio, website, birth_date, is_private, created_at, updated_at)
SELECT pg_temp.uid('profiles', u), u, 'User ' || u, 'About user ' || u,
       CASE WHEN u % 3 = 0 THEN NULL ELSE 'https://example.com/u' || u END,
       CASE WHEN u % 4 = 0 THEN NULL ELSE date '1980-01-01' + (u * 97) % 9000 END,
       u % 5 = 0, pg_temp.at(u, 61), pg_temp.at(u, 67)
FROM generate_series(1, :users) u;

INSERT INTO addresses (id, user_id, label, line1, line2, city, postal_code, country, is_default, created_at)
SELECT pg_temp.uid('addresses', i), 1 + i % :users, pg_temp.pick(i, 'home', 'work', 'other'),
       i || ' Main Road', CASE WHEN i % 2 = 0 THEN NULL ELSE 'Floor ' || i % 9 END,
       pg_temp.pick(i, 'Pune', 'Delhi', 'Chennai', 'Kochi'), lpad((400000 + i % 99999)::text, 6, '0'),
       pg_temp.pick(i, 'IN', 'IN', 'US'), i <= :users, pg_temp.at(i, 70)
FROM generate_series(1, :n) i;

INSERT INTO follows (id, follower_id, followee_id, created_at)
SELECT pg_temp.uid('follows', a * 100000 + d), a, 1 + (a - 1 + d) % :users, pg_temp.at(a * 100 + d, 90)
FROM generate_series(1, :users) a, generate_series(1, least(:per, :users - 1)) d;

INSERT INTO blocks (id, blocker_id, blocked_id, reason, created_at)
SELECT pg_temp.uid('blocks', a * 100000 + d), a, 1 + (a - 1 + d) % :users,
       CASE WHEN d % 2 = 0 THEN '' ELSE 'spam' END, pg_temp.at(a * 100 + d, 95)
FROM generate_series(1, :users) a, generate_series(1, least(greatest(:per / 4, 1), :users - 1)) d;

INSERT INTO devices (id, user_id, platform, push_token, last_seen_at, created_at)
SELECT pg_temp.uid('devices', i), 1 + i % :users, pg_temp.pick(i, 'ios', 'android', 'web'), 'token-' || i,
       CASE WHEN i % 3 = 0 THEN NULL ELSE pg_temp.at(i, 3000) END, pg_temp.at(i, 71)
FROM generate_series(1, :n) i;

INSERT INTO login_events (id, user_id, ip, user_agent, succeeded, created_at)
SELECT pg_temp.uid('login_events', i), 1 + i % :users, '10.0.' || i % 250 || '.' || i % 199,
       pg_temp.pick(i, 'Firefox', 'Safari', ''), i % 7 <> 0, pg_temp.at(i, 73)
FROM generate_series(1, :n) i;

INSERT INTO notification_settings (id, user_id, channel, topic, enabled)
SELECT pg_temp.uid('notification_settings', i), 1 + i % :users, pg_temp.pick(i, 'email', 'push', 'sms'),
       'topic' || i, i % 4 <> 0
FROM generate_series(1, :n) i;

INSERT INTO notifications (id, user_id, kind, payload, is_read, created_at)
SELECT pg_temp.uid('notifications', i), 1 + i % :users,
       pg_temp.pick(i, 'like', 'comment', 'follow', 'order', 'payment', 'system'),
       CASE WHEN i % 5 = 0 THEN NULL ELSE jsonb_build_object('ref', i, 'text', 'event ' || i, 'tags', jsonb_build_array('a', i % 3)) END,
       i % 2 = 0, pg_temp.at(i, 75)
FROM generate_series(1, :n) i;

INSERT INTO posts (id, user_id, kind, title, body, visibility, like_count, published_at, created_at, updated_at)
SELECT pg_temp.uid('posts', i), 1 + i % :users, pg_temp.pick(i, 'text', 'photo', 'video', 'link')::post_kind,
       'Post number ' || i, 'Body of post ' || i || ' about ' || pg_temp.pick(i, 'cats', 'code', 'coffee', 'cricket'),
       pg_temp.pick(i, 'public', 'public', 'followers', 'private'), (i * 13) % 500,
       CASE WHEN i % 6 = 0 THEN NULL ELSE pg_temp.at(i, 3600) END, pg_temp.at(i, 77), pg_temp.at(i, 79)
FROM generate_series(1, :n) i;

INSERT INTO post_media (id, post_id, url, media_type, position)
SELECT pg_temp.uid('post_media', i * 10 + p), pg_temp.uid('posts', i), 'https://cdn.example.com/p/' || i || '/' || p,
       pg_temp.pick(i + p, 'image', 'video'), 1 - p
FROM generate_series(1, :n) i, generate_series(0, 1) p
WHERE i % 3 <> 0;

INSERT INTO comments (id, user_id, post_id, body, is_hidden, created_at, updated_at)
SELECT pg_temp.uid('comments', i), 1 + i % :users, pg_temp.uid('posts', i), 'Comment ' || i, i % 11 = 0,
       pg_temp.at(i, 81), pg_temp.at(i, 83)
FROM generate_series(1, :n) i;

INSERT INTO reactions (id, user_id, comment_id, emoji, created_at)
SELECT pg_temp.uid('reactions', i), 1 + i % :users, pg_temp.uid('comments', i), pg_temp.pick(i, '👍', '🎉', '❤'),
       pg_temp.at(i, 85)
FROM generate_series(1, :n) i;

INSERT INTO likes (id, user_id, post_id, created_at)
SELECT pg_temp.uid('likes', i), 1 + i % :users, pg_temp.uid('posts', i), pg_temp.at(i, 87)
FROM generate_series(1, :n) i;

INSERT INTO bookmarks (id, user_id, post_id, note, created_at)
SELECT pg_temp.uid('bookmarks', i), 1 + i % :users, pg_temp.uid('posts', i),
       CASE WHEN i % 2 = 0 THEN '' ELSE 'read later ' || i END, pg_temp.at(i, 89)
FROM generate_series(1, :n) i;

INSERT INTO shares (id, user_id, post_id, message, created_at)
SELECT pg_temp.uid('shares', i), 1 + i % :users, pg_temp.uid('posts', i), 'Look at this ' || i, pg_temp.at(i, 91)
FROM generate_series(1, :n) i;

INSERT INTO stories (id, user_id, media_url, caption, expires_at, created_at)
SELECT pg_temp.uid('stories', i), 1 + i % :users, 'https://cdn.example.com/s/' || i,
       CASE WHEN i % 3 = 0 THEN '' ELSE 'Story ' || i END, pg_temp.at(i, 93) + interval '1 day', pg_temp.at(i, 93)
FROM generate_series(1, :n) i;

INSERT INTO story_views (id, user_id, story_id, viewed_at)
SELECT pg_temp.uid('story_views', i), 1 + i % :users, pg_temp.uid('stories', i), pg_temp.at(i, 97)
FROM generate_series(1, :n) i;

INSERT INTO conversations (id, user_id, title, is_archived, created_at, updated_at)
SELECT pg_temp.uid('conversations', i), 1 + i % :users, CASE WHEN i % 4 = 0 THEN '' ELSE 'Chat ' || i END,
       i % 9 = 0, pg_temp.at(i, 99), pg_temp.at(i, 101)
FROM generate_series(1, :n) i;

INSERT INTO messages (id, user_id, conversation_id, body, read_at, created_at)
SELECT pg_temp.uid('messages', i), 1 + i % :users, pg_temp.uid('conversations', i), 'Hello ' || i,
       CASE WHEN i % 2 = 0 THEN NULL ELSE pg_temp.at(i, 103) END, pg_temp.at(i, 107)
FROM generate_series(1, :n) i;

INSERT INTO stores (id, user_id, name, slug, description, is_open, created_at, updated_at)
SELECT pg_temp.uid('stores', i), 1 + i % :users, 'Store ' || i, 'store-' || i, 'We sell things, ' || i,
       i % 10 <> 0, pg_temp.at(i, 109), pg_temp.at(i, 113)
FROM generate_series(1, :n) i;

INSERT INTO products (id, user_id, store_id, sku, name, description, price, currency, stock, status, attributes,
                      created_at, updated_at)
SELECT pg_temp.uid('products', i), 1 + i % :users, pg_temp.uid('stores', i), 'SKU-' || i,
       pg_temp.pick(i, 'Red', 'Blue', 'Green') || ' ' || pg_temp.pick(i / 3, 'mug', 'shirt', 'lamp', 'book') || ' ' || i,
       'Product ' || i, pg_temp.money(i, 500000), pg_temp.pick(i, 'INR', 'INR', 'USD'), (i * 7) % 120,
       pg_temp.pick(i, 'draft', 'active', 'active', 'archived'),
       CASE WHEN i % 4 = 0 THEN NULL ELSE jsonb_build_object('colour', pg_temp.pick(i, 'red', 'blue', 'green'), 'size', i % 5) END,
       pg_temp.at(i, 127), pg_temp.at(i, 131)
FROM generate_series(1, :n) i;

INSERT INTO product_images (id, product_id, url, alt_text, position)
SELECT pg_temp.uid('product_images', i * 10 + p), pg_temp.uid('products', i),
       'https://cdn.example.com/pr/' || i || '/' || p, CASE WHEN p = 0 THEN 'front' ELSE '' END, p
FROM generate_series(1, :n) i, generate_series(0, 2) p;

INSERT INTO product_categories (product_id, category_id)
SELECT pg_temp.uid('products', i), 1 + i % 12 FROM generate_series(1, :n) i;

INSERT INTO reviews (id, user_id, product_id, rating, title, body, created_at)
SELECT pg_temp.uid('reviews', i), 1 + i % :users, pg_temp.uid('products', i), 1 + i % 5, 'Review ' || i,
       CASE WHEN i % 3 = 0 THEN '' ELSE 'It was ' || pg_temp.pick(i, 'fine', 'great', 'bad') END, pg_temp.at(i, 137)
FROM generate_series(1, :n) i;

INSERT INTO wishlists (id, user_id, name, is_public, created_at)
SELECT pg_temp.uid('wishlists', i), 1 + i % :users, 'List ' || i, i % 2 = 0, pg_temp.at(i, 139)
FROM generate_series(1, :n) i;

INSERT INTO wishlist_entries (id, wishlist_id, product_id, added_at, position)
SELECT pg_temp.uid('wishlist_entries', i * 10 + p), pg_temp.uid('wishlists', i), pg_temp.uid('products', i + p),
       pg_temp.at(i * 10 + p, 149), p
FROM generate_series(1, :n) i, generate_series(0, 1) p;

INSERT INTO carts (id, user_id, status, currency, created_at, updated_at)
SELECT pg_temp.uid('carts', i), 1 + i % :users, pg_temp.pick(i, 'open', 'ordered', 'abandoned'), 'INR',
       pg_temp.at(i, 151), pg_temp.at(i, 157)
FROM generate_series(1, :n) i;

INSERT INTO cart_lines (id, cart_id, product_id, quantity, unit_price, position)
SELECT pg_temp.uid('cart_lines', i * 10 + p), pg_temp.uid('carts', i), pg_temp.uid('products', i + p), 1 + p,
       pg_temp.money(i + p, 50000), p
FROM generate_series(1, :n) i, generate_series(0, 1) p;

INSERT INTO orders (id, user_id, address_id, number, status, subtotal, shipping, tax, total, currency, placed_at,
                    created_at, updated_at)
SELECT pg_temp.uid('orders', i), 1 + i % :users, CASE WHEN i % 5 = 0 THEN NULL ELSE pg_temp.uid('addresses', i) END,
       'ORD-' || lpad(i::text, 7, '0'),
       pg_temp.pick(i, 'pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')::order_status,
       pg_temp.money(i, 100000), (i % 3) * 40, pg_temp.money(i, 1000), pg_temp.money(i, 100000) + (i % 3) * 40 + pg_temp.money(i, 1000),
       'INR', CASE WHEN i % 6 = 0 THEN NULL ELSE pg_temp.at(i, 163) END, pg_temp.at(i, 167), pg_temp.at(i, 173)
FROM generate_series(1, :n) i;

INSERT INTO order_lines (id, order_id, product_id, name, quantity, unit_price, line_total, position)
SELECT pg_temp.uid('order_lines', i * 10 + p), pg_temp.uid('orders', i), pg_temp.uid('products', i + p),
       'Line ' || p || ' of ' || i, 1 + p, pg_temp.money(i + p, 20000), (1 + p) * pg_temp.money(i + p, 20000), p
FROM generate_series(1, :n) i, generate_series(0, 2) p;

INSERT INTO payments (id, user_id, order_id, amount, method, status, provider_ref, paid_at, created_at)
SELECT pg_temp.uid('payments', i), 1 + i % :users, pg_temp.uid('orders', i), pg_temp.money(i, 100000),
       pg_temp.pick(i, 'card', 'upi', 'wallet', 'netbanking', 'cod'), pg_temp.pick(i, 'captured', 'captured', 'pending', 'failed'),
       CASE WHEN i % 5 = 4 THEN '' ELSE 'pay_' || md5('ref' || i) END, pg_temp.at(i, 179), pg_temp.at(i, 181)
FROM generate_series(1, :n) i;

INSERT INTO refunds (id, user_id, payment_id, amount, reason, created_at)
SELECT pg_temp.uid('refunds', i), 1 + i % :users, pg_temp.uid('payments', i), pg_temp.money(i, 5000),
       pg_temp.pick(i, 'damaged', 'late', ''), pg_temp.at(i, 191)
FROM generate_series(1, :n) i;

INSERT INTO shipments (id, user_id, order_id, carrier, tracking_number, status, shipped_at, delivered_at, created_at)
SELECT pg_temp.uid('shipments', i), 1 + i % :users, pg_temp.uid('orders', i), pg_temp.pick(i, 'BlueDart', 'DTDC', 'IndiaPost'),
       'TRK' || lpad(i::text, 9, '0'), pg_temp.pick(i, 'label', 'in_transit', 'delivered', 'lost'),
       CASE WHEN i % 4 = 0 THEN NULL ELSE pg_temp.at(i, 193) END,
       CASE WHEN i % 4 = 2 THEN pg_temp.at(i, 197) ELSE NULL END, pg_temp.at(i, 199)
FROM generate_series(1, :n) i;

INSERT INTO shipment_events (id, shipment_id, status, location, occurred_at, position)
SELECT pg_temp.uid('shipment_events', i * 10 + p), pg_temp.uid('shipments', i),
       pg_temp.pick(p, 'picked up', 'in hub', 'out for delivery'), pg_temp.pick(i + p, 'Pune', 'Mumbai', ''),
       pg_temp.at(i * 10 + p, 211), p
FROM generate_series(1, :n) i, generate_series(0, 2) p;

INSERT INTO coupons (id, user_id, code, percent_off, valid_until, max_uses, created_at)
SELECT pg_temp.uid('coupons', i), 1 + i % :users, 'SAVE' || i, 1 + i % 90,
       CASE WHEN i % 3 = 0 THEN NULL ELSE date '2025-06-01' + i % 400 END, 1 + i % 500, pg_temp.at(i, 223)
FROM generate_series(1, :n) i;

INSERT INTO coupon_redemptions (id, user_id, coupon_id, order_id, discount, created_at)
SELECT pg_temp.uid('coupon_redemptions', i), 1 + i % :users, pg_temp.uid('coupons', i), pg_temp.uid('orders', i),
       pg_temp.money(i, 3000), pg_temp.at(i, 227)
FROM generate_series(1, :n) i;

INSERT INTO wallets (id, user_id, currency, balance, created_at, updated_at)
SELECT pg_temp.uid('wallets', u * 10 + c), u, (ARRAY['INR', 'USD', 'EUR'])[c], pg_temp.money(u * 10 + c, 900000),
       pg_temp.at(u * 10 + c, 229), pg_temp.at(u * 10 + c, 233)
FROM generate_series(1, :users) u, generate_series(1, 3) c;

INSERT INTO wallet_transactions (id, user_id, wallet_id, kind, amount, balance_after, memo, created_at)
SELECT pg_temp.uid('wallet_transactions', i), 1 + i % :users, pg_temp.uid('wallets', (1 + i % :users) * 10 + 1 + i % 3),
       pg_temp.pick(i, 'credit', 'debit'), pg_temp.money(i, 20000), pg_temp.money(i, 900000),
       CASE WHEN i % 2 = 0 THEN '' ELSE 'top-up ' || i END, pg_temp.at(i, 239)
FROM generate_series(1, :n) i;

INSERT INTO payout_accounts (id, user_id, holder_name, bank_code, account_last4, is_verified, created_at)
SELECT pg_temp.uid('payout_accounts', i), 1 + i % :users, 'Holder ' || i, 'HDFC000' || lpad((i % 9999)::text, 4, '0'),
       lpad((i % 10000)::text, 4, '0'), i % 3 <> 0, pg_temp.at(i, 241)
FROM generate_series(1, :n) i;

INSERT INTO payouts (id, user_id, payout_account_id, amount, status, requested_at, created_at)
SELECT pg_temp.uid('payouts', i), 1 + i % :users, pg_temp.uid('payout_accounts', i), pg_temp.money(i, 700000),
       pg_temp.pick(i, 'queued', 'sent', 'sent', 'failed'), pg_temp.at(i, 251), pg_temp.at(i, 251)
FROM generate_series(1, :n) i;

INSERT INTO subscriptions (id, user_id, plan, status, started_at, renews_at, created_at, updated_at)
SELECT pg_temp.uid('subscriptions', i), 1 + i % :users, pg_temp.pick(i, 'free', 'plus', 'pro'),
       pg_temp.pick(i, 'active', 'active', 'past_due', 'cancelled'), pg_temp.at(i, 257),
       CASE WHEN i % 4 = 3 THEN NULL ELSE pg_temp.at(i, 257) + interval '30 days' END, pg_temp.at(i, 257),
       pg_temp.at(i, 263)
FROM generate_series(1, :n) i;

INSERT INTO invoices (id, user_id, subscription_id, number, amount, status, issued_on, created_at)
SELECT pg_temp.uid('invoices', i), 1 + i % :users, pg_temp.uid('subscriptions', i), 'INV-' || lpad(i::text, 7, '0'),
       pg_temp.money(i, 300000), pg_temp.pick(i, 'open', 'paid', 'paid', 'void'), date '2025-01-01' + i % 600,
       pg_temp.at(i, 269)
FROM generate_series(1, :n) i;

INSERT INTO invoice_lines (id, invoice_id, description, amount, position)
SELECT pg_temp.uid('invoice_lines', i * 10 + p), pg_temp.uid('invoices', i), 'Charge ' || p, pg_temp.money(i + p, 100000), p
FROM generate_series(1, :n) i, generate_series(0, 1) p;

INSERT INTO support_tickets (id, user_id, subject, status, priority, created_at, updated_at)
SELECT pg_temp.uid('support_tickets', i), 1 + i % :users, 'Help with ' || pg_temp.pick(i, 'order', 'refund', 'login') || ' ' || i,
       pg_temp.pick(i, 'open', 'waiting', 'closed'), pg_temp.pick(i, 'low', 'normal', 'normal', 'high', 'urgent'),
       pg_temp.at(i, 271), pg_temp.at(i, 277)
FROM generate_series(1, :n) i;

INSERT INTO ticket_messages (id, ticket_id, author, body, sent_at, position)
SELECT pg_temp.uid('ticket_messages', i * 10 + p), pg_temp.uid('support_tickets', i), pg_temp.pick(p, 'customer', 'agent'),
       'Message ' || p || ' on ticket ' || i, pg_temp.at(i * 10 + p, 281), p
FROM generate_series(1, :n) i, generate_series(0, 1) p;

INSERT INTO saved_searches (id, user_id, name, query, notify, created_at)
SELECT pg_temp.uid('saved_searches', i), 1 + i % :users, 'Search ' || i,
       jsonb_build_object('q', pg_temp.pick(i, 'mug', 'lamp', 'shirt'), 'max_price', i % 5000), i % 2 = 1, pg_temp.at(i, 283)
FROM generate_series(1, :n) i;

INSERT INTO api_keys (id, user_id, label, prefix, scopes, last_used_at, expires_on, created_at)
SELECT pg_temp.uid('api_keys', i), 1 + i % :users, 'Key ' || i, substr(md5('key' || i), 1, 8),
       jsonb_build_array('read', pg_temp.pick(i, 'write', 'admin')),
       CASE WHEN i % 2 = 0 THEN NULL ELSE pg_temp.at(i, 293) END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE date '2026-01-01' + i % 365 END, pg_temp.at(i, 293)
FROM generate_series(1, :n) i;

INSERT INTO audit_log (user_id, action, detail, created_at)
SELECT 1 + i % :users, 'login', jsonb_build_object('n', i), pg_temp.at(i, 307) FROM generate_series(1, :users) i;

ANALYZE;
