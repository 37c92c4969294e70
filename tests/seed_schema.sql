-- The seed's SQL section (shared/seed/000_9f85737184373f1f.txt), transcribed verbatim:
-- its enum types, CREATE TABLE statements, and its named indexes and constraints.
-- tests/test_schema.py builds a database from this file and compares catalogs.

CREATE TYPE userstatus AS ENUM ('active', 'inactive', 'suspended', 'deleted');
CREATE TYPE notificationpriority AS ENUM ('critical', 'high', 'medium', 'low');
CREATE TYPE notificationstatus AS ENUM ('pending', 'sent', 'delivered', 'read', 'failed');
CREATE TYPE notificationtype AS ENUM ('system', 'deal', 'goal', 'price_alert', 'token', 'security', 'market');
CREATE TYPE marketcategory AS ENUM ('electronics', 'fashion', 'home', 'books', 'toys', 'sports', 'automotive', 'health', 'beauty', 'grocery', 'other');
CREATE TYPE markettype AS ENUM ('amazon', 'walmart', 'ebay', 'target', 'bestbuy');
CREATE TYPE marketstatus AS ENUM ('active', 'inactive', 'maintenance', 'rate_limited', 'error');
CREATE TYPE goalstatus AS ENUM ('active', 'paused', 'completed', 'cancelled', 'failed', 'expired', 'error');
CREATE TYPE goalpriority AS ENUM ('high', 'medium', 'low');
CREATE TYPE dealstatus AS ENUM ('pending', 'active', 'expired', 'sold_out', 'invalid', 'deleted');
CREATE TYPE dealsource AS ENUM ('amazon', 'walmart', 'ebay', 'target', 'bestbuy', 'manual', 'api', 'scraper', 'user', 'agent');
CREATE TYPE tokentype AS ENUM ('access', 'refresh', 'reset');
CREATE TYPE tokenstatus AS ENUM ('active', 'expired', 'revoked');
CREATE TYPE tokenscope AS ENUM ('full', 'limited', 'read');
CREATE TYPE transactiontype AS ENUM ('deduction', 'reward', 'refund');
CREATE TYPE transactionstatus AS ENUM ('pending', 'completed', 'failed', 'cancelled');
CREATE TYPE balancechangetype AS ENUM ('deduction', 'reward', 'refund');
CREATE TYPE messagerole AS ENUM ('user', 'assistant', 'system');

CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    password TEXT NOT NULL,
    sol_address VARCHAR(44),
    referral_code VARCHAR(10),
    referred_by UUID REFERENCES users(id) ON DELETE SET NULL,
    token_balance NUMERIC(18,8) NOT NULL DEFAULT 0,
    preferences JSONB NOT NULL DEFAULT '{}',
    status userstatus NOT NULL DEFAULT 'active',
    notification_channels JSONB NOT NULL DEFAULT '["in_app"]',
    email_verified BOOLEAN NOT NULL DEFAULT false,
    social_provider VARCHAR(50),
    social_id VARCHAR(255),
    last_payment_at TIMESTAMP WITH TIME ZONE,
    last_login_at TIMESTAMP WITH TIME ZONE,
    active_goals_count INTEGER NOT NULL DEFAULT 0,
    total_deals_found INTEGER NOT NULL DEFAULT 0,
    success_rate NUMERIC(5,4) NOT NULL DEFAULT 0,
    total_tokens_spent NUMERIC(18,8) NOT NULL DEFAULT 0,
    total_rewards_earned NUMERIC(18,8) NOT NULL DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX ix_users_email_status ON users (email, status);
CREATE INDEX ix_users_wallet ON users (sol_address);
CREATE INDEX ix_users_referral ON users (referral_code);

CREATE TABLE auth_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    token_type tokentype NOT NULL,
    status tokenstatus NOT NULL DEFAULT 'active',
    scope tokenscope NOT NULL DEFAULT 'full',
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_auth_tokens_user ON auth_tokens (user_id);
CREATE INDEX ix_auth_tokens_token ON auth_tokens (token);
CREATE INDEX ix_auth_tokens_status ON auth_tokens (status);

CREATE TABLE goals (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    category marketcategory NOT NULL,
    constraints JSONB NOT NULL DEFAULT '{}',
    status goalstatus NOT NULL DEFAULT 'active',
    priority goalpriority NOT NULL DEFAULT 'medium',
    start_date TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    end_date TIMESTAMP WITH TIME ZONE,
    max_budget NUMERIC(10,2),
    min_discount_percent NUMERIC(5,2),
    target_price NUMERIC(10,2),
    notification_threshold NUMERIC(5,2),
    auto_buy_threshold NUMERIC(5,2),
    max_matches INTEGER,
    max_tokens NUMERIC(18,8),
    total_tokens_spent NUMERIC(18,8) NOT NULL DEFAULT 0,
    total_matches_found INTEGER NOT NULL DEFAULT 0,
    last_checked_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_goals_user_status ON goals (user_id, status);
CREATE INDEX ix_goals_category ON goals (category);
CREATE INDEX ix_goals_priority ON goals (priority);

CREATE TABLE markets (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    type markettype NOT NULL,
    status marketstatus NOT NULL DEFAULT 'active',
    base_url TEXT NOT NULL,
    api_endpoint TEXT,
    api_key TEXT,
    rate_limit INTEGER,
    rate_limit_window INTEGER,
    current_rate INTEGER NOT NULL DEFAULT 0,
    last_rate_reset TIMESTAMP WITH TIME ZONE,
    error_count INTEGER NOT NULL DEFAULT 0,
    last_error_at TIMESTAMP WITH TIME ZONE,
    last_error TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_markets_type_status ON markets (type, status);
CREATE INDEX ix_markets_name ON markets (name);

CREATE TABLE deals (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    goal_id UUID NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    market_id UUID NOT NULL REFERENCES markets(id) ON DELETE CASCADE,
    title VARCHAR(255) NOT NULL,
    description TEXT,
    url TEXT NOT NULL,
    image_url TEXT,
    current_price NUMERIC(10,2) NOT NULL,
    original_price NUMERIC(10,2),
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    discount_percent NUMERIC(5,2),
    category marketcategory NOT NULL,
    source dealsource NOT NULL,
    status dealstatus NOT NULL DEFAULT 'active',
    seller_name VARCHAR(255),
    seller_rating NUMERIC(3,2),
    availability_status VARCHAR(50),
    shipping_info JSONB,
    product_specs JSONB,
    found_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP WITH TIME ZONE,
    last_checked_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_deals_goal_status ON deals (goal_id, status);
CREATE INDEX ix_deals_market_status ON deals (market_id, status);
CREATE INDEX ix_deals_category ON deals (category);
CREATE INDEX ix_deals_source ON deals (source);
CREATE INDEX ix_deals_url ON deals (url);

CREATE TABLE price_tracking (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    deal_id UUID NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    price NUMERIC(10,2) NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    source dealsource NOT NULL,
    tracked_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_price_tracking_deal ON price_tracking (deal_id);
CREATE INDEX ix_price_tracking_source ON price_tracking (source);

CREATE TABLE chat_messages (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    goal_id UUID REFERENCES goals(id) ON DELETE SET NULL,
    role messagerole NOT NULL,
    content TEXT NOT NULL,
    tokens_used INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_chat_messages_user ON chat_messages (user_id);
CREATE INDEX ix_chat_messages_goal ON chat_messages (goal_id);
CREATE INDEX ix_chat_messages_role ON chat_messages (role);

CREATE TABLE notifications (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type notificationtype NOT NULL,
    priority notificationpriority NOT NULL DEFAULT 'medium',
    status notificationstatus NOT NULL DEFAULT 'pending',
    title VARCHAR(255) NOT NULL,
    message TEXT NOT NULL,
    goal_id UUID REFERENCES goals(id) ON DELETE SET NULL,
    deal_id UUID REFERENCES deals(id) ON DELETE SET NULL,
    action_url TEXT,
    channels JSONB NOT NULL DEFAULT '["in_app"]',
    sent_at TIMESTAMP WITH TIME ZONE,
    delivered_at TIMESTAMP WITH TIME ZONE,
    read_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_notifications_user_status ON notifications (user_id, status);
CREATE INDEX ix_notifications_type ON notifications (type);
CREATE INDEX ix_notifications_priority ON notifications (priority);

CREATE TABLE token_transactions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type transactiontype NOT NULL,
    amount NUMERIC(18,8) NOT NULL,
    status transactionstatus NOT NULL DEFAULT 'pending',
    description TEXT,
    goal_id UUID REFERENCES goals(id) ON DELETE SET NULL,
    tx_hash VARCHAR(66),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_token_transactions_user ON token_transactions (user_id);
CREATE INDEX ix_token_transactions_type ON token_transactions (type);
CREATE INDEX ix_token_transactions_status ON token_transactions (status);
CREATE INDEX ix_token_transactions_hash ON token_transactions (tx_hash);

CREATE TABLE token_balance_history (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    balance_before NUMERIC(18,8) NOT NULL,
    balance_after NUMERIC(18,8) NOT NULL,
    change_amount NUMERIC(18,8) NOT NULL,
    change_type balancechangetype NOT NULL,
    transaction_id UUID REFERENCES token_transactions(id) ON DELETE SET NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_token_balance_history_user ON token_balance_history (user_id);
CREATE INDEX ix_token_balance_history_type ON token_balance_history (change_type);

CREATE TABLE model_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    model_name VARCHAR(50) NOT NULL,
    model_version VARCHAR(50) NOT NULL,
    accuracy NUMERIC(5,4) NOT NULL,
    precision NUMERIC(5,4) NOT NULL,
    recall NUMERIC(5,4) NOT NULL,
    f1_score NUMERIC(5,4) NOT NULL,
    training_duration INTEGER NOT NULL,
    training_samples INTEGER NOT NULL,
    validation_samples INTEGER NOT NULL,
    hyperparameters JSONB NOT NULL DEFAULT '{}',
    feature_importance JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_model_metrics_name_version ON model_metrics (model_name, model_version);
CREATE INDEX ix_model_metrics_created ON model_metrics (created_at);

CREATE TABLE token_pricing (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    service_type VARCHAR(50) NOT NULL,
    token_cost NUMERIC(18,8) NOT NULL,
    min_tokens INTEGER NOT NULL DEFAULT 1,
    max_tokens INTEGER,
    valid_from TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    valid_to TIMESTAMP WITH TIME ZONE,
    is_active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta_data JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_token_pricing_service ON token_pricing (service_type);
CREATE INDEX ix_token_pricing_active ON token_pricing (is_active);
CREATE INDEX ix_token_pricing_validity ON token_pricing (valid_from, valid_to);
ALTER TABLE users
    ADD CONSTRAINT ch_positive_balance CHECK (token_balance >= 0),
    ADD CONSTRAINT uq_user_email UNIQUE (email),
    ADD CONSTRAINT uq_user_wallet UNIQUE (sol_address),
    ADD CONSTRAINT uq_user_referral UNIQUE (referral_code);
