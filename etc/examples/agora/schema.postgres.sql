-- Agora: a social marketplace (people, posts and their talk; shops,
-- products, carts, orders, payments, wallets and subscriptions), as its
-- Node.js application keeps it in PostgreSQL.  48 tables: 40 the gateway
-- serves (owned by a user, keyed by a uuid, some embedded in others), and
-- the users table, lookups keyed by integers and a log it leaves to the
-- application.

CREATE TYPE post_kind AS ENUM ('text', 'photo', 'video', 'link');
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

CREATE TABLE users (
  id bigserial PRIMARY KEY,
  username varchar(40) NOT NULL UNIQUE,
  email varchar(254) NOT NULL UNIQUE,
  password_hash varchar(128) NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Lookups the application keeps to itself (integer keys).
CREATE TABLE categories (id serial PRIMARY KEY, name varchar(60) NOT NULL UNIQUE,
                         parent_id integer REFERENCES categories (id));
CREATE TABLE tags (id serial PRIMARY KEY, name varchar(40) NOT NULL UNIQUE);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), action varchar(40) NOT NULL,
                        detail jsonb, created_at timestamptz NOT NULL DEFAULT now());

-- People -----------------------------------------------------------------

CREATE TABLE profiles (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  display_name varchar(80) NOT NULL,
  bio text NOT NULL DEFAULT '',
  website varchar(200),
  birth_date date,
  is_private boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label varchar(40) NOT NULL DEFAULT 'home',
  line1 varchar(120) NOT NULL,
  line2 varchar(120),
  city varchar(80) NOT NULL,
  postal_code varchar(16) NOT NULL,
  country varchar(2) NOT NULL DEFAULT 'IN',
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_country ON addresses (user_id, country);

CREATE TABLE follows (
  id uuid PRIMARY KEY,
  follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  followee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (follower_id, followee_id)
);

CREATE TABLE blocks (
  id uuid PRIMARY KEY,
  blocker_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  blocked_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  reason varchar(200) NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (blocker_id, blocked_id)
);

CREATE TABLE devices (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  platform varchar(10) NOT NULL CHECK (platform IN ('ios', 'android', 'web')),
  push_token varchar(200) NOT NULL,
  last_seen_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_user_platform ON devices (user_id, platform);

CREATE TABLE login_events (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  ip varchar(45) NOT NULL,
  user_agent varchar(300) NOT NULL DEFAULT '',
  succeeded boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_events_user_succeeded ON login_events (user_id, succeeded);

CREATE TABLE notification_settings (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel varchar(10) NOT NULL CHECK (channel IN ('email', 'push', 'sms')),
  topic varchar(40) NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  UNIQUE (user_id, channel, topic)
);

CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind varchar(20) NOT NULL CHECK (kind IN ('like', 'comment', 'follow', 'order', 'payment', 'system')),
  payload jsonb,
  is_read boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_read ON notifications (user_id, is_read);

-- Posts and the talk around them ------------------------------------------

CREATE TABLE posts (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind post_kind NOT NULL DEFAULT 'text',
  title varchar(200) NOT NULL,
  body text NOT NULL DEFAULT '',
  visibility varchar(10) NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'followers', 'private')),
  like_count integer NOT NULL DEFAULT 0 CHECK (like_count >= 0),
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_user_kind ON posts (user_id, kind);
CREATE INDEX posts_published ON posts (published_at);

CREATE TABLE post_media (
  id uuid PRIMARY KEY,
  post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  url varchar(300) NOT NULL,
  media_type varchar(10) NOT NULL CHECK (media_type IN ('image', 'video')),
  position smallint NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX post_media_post ON post_media (post_id);

CREATE TABLE comments (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  body text NOT NULL,
  is_hidden boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_post ON comments (post_id);

CREATE TABLE reactions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
  emoji varchar(16) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, comment_id, emoji)
);
CREATE INDEX reactions_comment ON reactions (comment_id);

CREATE TABLE likes (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, post_id)
);
CREATE INDEX likes_post ON likes (post_id);

CREATE TABLE bookmarks (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  note varchar(200) NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, post_id)
);

CREATE TABLE shares (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  message varchar(280) NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shares_post ON shares (post_id);

CREATE TABLE stories (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  media_url varchar(300) NOT NULL,
  caption varchar(200) NOT NULL DEFAULT '',
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stories_expires ON stories (expires_at);

CREATE TABLE story_views (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  story_id uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  viewed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX story_views_story ON story_views (story_id);

CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title varchar(120) NOT NULL DEFAULT '',
  is_archived boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user_archived ON conversations (user_id, is_archived);

CREATE TABLE messages (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  body text NOT NULL,
  read_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id);

-- Shops ------------------------------------------------------------------

CREATE TABLE stores (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name varchar(120) NOT NULL,
  slug varchar(120) NOT NULL,
  description text NOT NULL DEFAULT '',
  is_open boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, slug)
);

CREATE TABLE products (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  store_id uuid NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
  sku varchar(40) NOT NULL,
  name varchar(200) NOT NULL,
  description text NOT NULL DEFAULT '',
  price numeric(12,2) NOT NULL,
  currency varchar(3) NOT NULL DEFAULT 'INR',
  stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  status varchar(10) NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
  attributes jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, sku)
);
CREATE INDEX products_store ON products (store_id);
CREATE INDEX products_price ON products (price);

CREATE TABLE product_images (
  id uuid PRIMARY KEY,
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  url varchar(300) NOT NULL,
  alt_text varchar(200) NOT NULL DEFAULT '',
  position smallint NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX product_images_product ON product_images (product_id);

CREATE TABLE product_categories (
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  category_id integer NOT NULL REFERENCES categories (id),
  PRIMARY KEY (product_id, category_id)
);

CREATE TABLE reviews (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title varchar(120) NOT NULL DEFAULT '',
  body text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, product_id)
);
CREATE INDEX reviews_product ON reviews (product_id);

CREATE TABLE wishlists (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name varchar(80) NOT NULL,
  is_public boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- product_id names a product of any user: not a reference the gateway scopes.
CREATE TABLE wishlist_entries (
  id uuid PRIMARY KEY,
  wishlist_id uuid NOT NULL REFERENCES wishlists (id) ON DELETE CASCADE,
  product_id uuid NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX wishlist_entries_wishlist ON wishlist_entries (wishlist_id);

CREATE TABLE carts (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status varchar(10) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ordered', 'abandoned')),
  currency varchar(3) NOT NULL DEFAULT 'INR',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_lines (
  id uuid PRIMARY KEY,
  cart_id uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
  product_id uuid NOT NULL,
  quantity integer NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  unit_price numeric(12,2) NOT NULL,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX cart_lines_cart ON cart_lines (cart_id);

CREATE TABLE orders (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  address_id uuid REFERENCES addresses (id) ON DELETE SET NULL,
  number varchar(20) NOT NULL,
  status order_status NOT NULL DEFAULT 'pending',
  subtotal numeric(12,2) NOT NULL DEFAULT 0,
  shipping numeric(12,2) NOT NULL DEFAULT 0,
  tax numeric(12,2) NOT NULL DEFAULT 0,
  total numeric(12,2) NOT NULL DEFAULT 0,
  currency varchar(3) NOT NULL DEFAULT 'INR',
  placed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, number)
);
CREATE INDEX orders_user_status ON orders (user_id, status);
CREATE INDEX orders_placed ON orders (placed_at);

CREATE TABLE order_lines (
  id uuid PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id uuid NOT NULL,
  name varchar(200) NOT NULL,
  quantity integer NOT NULL CHECK (quantity >= 1),
  unit_price numeric(12,2) NOT NULL,
  line_total numeric(12,2) NOT NULL,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX order_lines_order ON order_lines (order_id);

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  amount numeric(12,2) NOT NULL,
  method varchar(12) NOT NULL CHECK (method IN ('card', 'upi', 'wallet', 'netbanking', 'cod')),
  status varchar(10) NOT NULL DEFAULT 'captured' CHECK (status IN ('pending', 'captured', 'failed')),
  provider_ref varchar(64) NOT NULL DEFAULT '',
  paid_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  payment_id uuid NOT NULL REFERENCES payments (id) ON DELETE CASCADE,
  amount numeric(12,2) NOT NULL,
  reason varchar(200) NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE shipments (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  carrier varchar(40) NOT NULL,
  tracking_number varchar(60) NOT NULL,
  status varchar(12) NOT NULL DEFAULT 'label' CHECK (status IN ('label', 'in_transit', 'delivered', 'lost')),
  shipped_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_order ON shipments (order_id);

CREATE TABLE shipment_events (
  id uuid PRIMARY KEY,
  shipment_id uuid NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
  status varchar(40) NOT NULL,
  location varchar(80) NOT NULL DEFAULT '',
  occurred_at timestamptz NOT NULL,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX shipment_events_shipment ON shipment_events (shipment_id);

CREATE TABLE coupons (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code varchar(30) NOT NULL,
  percent_off smallint NOT NULL CHECK (percent_off BETWEEN 1 AND 90),
  valid_until date,
  max_uses integer NOT NULL DEFAULT 100 CHECK (max_uses >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, code)
);

CREATE TABLE coupon_redemptions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  coupon_id uuid NOT NULL REFERENCES coupons (id) ON DELETE CASCADE,
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  discount numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coupon_redemptions_coupon ON coupon_redemptions (coupon_id);

-- Money ------------------------------------------------------------------

CREATE TABLE wallets (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  currency varchar(3) NOT NULL DEFAULT 'INR',
  balance numeric(14,2) NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, currency)
);

CREATE TABLE wallet_transactions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  wallet_id uuid NOT NULL REFERENCES wallets (id) ON DELETE CASCADE,
  kind varchar(10) NOT NULL CHECK (kind IN ('credit', 'debit')),
  amount numeric(14,2) NOT NULL,
  balance_after numeric(14,2) NOT NULL,
  memo varchar(200) NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_transactions_wallet ON wallet_transactions (wallet_id);

CREATE TABLE payout_accounts (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  holder_name varchar(120) NOT NULL,
  bank_code varchar(11) NOT NULL,
  account_last4 varchar(4) NOT NULL,
  is_verified boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payouts (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  payout_account_id uuid NOT NULL REFERENCES payout_accounts (id) ON DELETE CASCADE,
  amount numeric(14,2) NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_user_status ON payouts (user_id, status);

CREATE TABLE subscriptions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  plan varchar(10) NOT NULL CHECK (plan IN ('free', 'plus', 'pro')),
  status varchar(10) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'past_due', 'cancelled')),
  started_at timestamptz NOT NULL,
  renews_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  number varchar(20) NOT NULL,
  amount numeric(12,2) NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'void')),
  issued_on date NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, number)
);
CREATE INDEX invoices_subscription ON invoices (subscription_id);

CREATE TABLE invoice_lines (
  id uuid PRIMARY KEY,
  invoice_id uuid NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
  description varchar(200) NOT NULL,
  amount numeric(12,2) NOT NULL,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id);

-- Support ----------------------------------------------------------------

CREATE TABLE support_tickets (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  subject varchar(200) NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'waiting', 'closed')),
  priority varchar(10) NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX support_tickets_user_status ON support_tickets (user_id, status);

CREATE TABLE ticket_messages (
  id uuid PRIMARY KEY,
  ticket_id uuid NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
  author varchar(10) NOT NULL CHECK (author IN ('customer', 'agent')),
  body text NOT NULL,
  sent_at timestamptz NOT NULL,
  position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id);

CREATE TABLE saved_searches (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name varchar(80) NOT NULL,
  query jsonb NOT NULL,
  notify boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  label varchar(80) NOT NULL,
  prefix varchar(8) NOT NULL,
  scopes jsonb NOT NULL,
  last_used_at timestamptz,
  expires_on date,
  created_at timestamptz NOT NULL DEFAULT now()
);
