// NATS nkeys and JWTs as this product mints them. That nats-server takes them is the
// operator-mode integration test's; here: the encodings, the checks, the signatures.
#include "bus/nkeys.hpp"

#include <gtest/gtest.h>

#include "bus/encodings.hpp"
#include "bus/jwt.hpp"

namespace mk::bus {
namespace {

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(nkeys, base32_is_rfc_4648_without_padding) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "MY"},
                                                         {"fo", "MZXQ"},
                                                         {"foo", "MZXW6"},
                                                         {"foob", "MZXW6YQ"},
                                                         {"fooba", "MZXW6YTB"},
                                                         {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base32(bytes(plain)), coded) << plain;
    auto back = base32_decode(coded);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(*back, bytes(plain)) << coded;
  }
  auto bad = base32_decode("MZ1W");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("'1'"), std::string::npos) << bad.error();
}

TEST(nkeys, base64url_is_url_safe_and_unpadded) {
  EXPECT_EQ(base64url(bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(base64url(bytes("fo")), "Zm8");
  const std::vector<std::uint8_t> high = {0xfb, 0xff};
  EXPECT_EQ(base64url(high), "-_8");
  auto back = base64url_decode("-_8");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, high);
  EXPECT_FALSE(base64url_decode("Zm9v+A=="));
}

TEST(nkeys, each_kind_writes_its_letter_and_a_seed_gives_back_the_same_key) {
  for (auto [k, letter] :
       {std::pair{nkeys::kind::operator_key, 'O'}, std::pair{nkeys::kind::account, 'A'},
        std::pair{nkeys::kind::user, 'U'}}) {
    auto pair = nkeys::key_pair::generate(k);
    ASSERT_TRUE(pair) << pair.error();
    const auto pub = pair->public_key();
    const auto seed = pair->seed();
    EXPECT_EQ(pub.size(), 56u);
    EXPECT_EQ(pub[0], letter);
    EXPECT_EQ(seed.size(), 58u);
    EXPECT_EQ(seed.substr(0, 2), std::string("S") + letter);
    auto again = nkeys::key_pair::from_seed(seed);
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(again->type(), k);
    EXPECT_EQ(again->public_key(), pub);
  }
}

TEST(nkeys, a_damaged_seed_or_a_public_key_is_not_a_seed) {
  auto user = nkeys::key_pair::generate(nkeys::kind::user);
  ASSERT_TRUE(user);
  auto seed = user->seed();
  seed[10] = seed[10] == 'A' ? 'B' : 'A';
  auto damaged = nkeys::key_pair::from_seed(seed);
  ASSERT_FALSE(damaged);
  EXPECT_NE(damaged.error().find("checksum"), std::string::npos) << damaged.error();
  EXPECT_FALSE(nkeys::key_pair::from_seed(user->public_key()));
  EXPECT_FALSE(nkeys::key_pair::from_seed("SU"));
  EXPECT_FALSE(nkeys::key_pair::from_seed("not a seed"));
}

TEST(nkeys, a_signature_verifies_with_its_key_only) {
  auto a = nkeys::key_pair::generate(nkeys::kind::account);
  auto b = nkeys::key_pair::generate(nkeys::kind::account);
  ASSERT_TRUE(a && b);
  const auto data = bytes("the nonce of a connection");
  auto sig = a->sign(data);
  ASSERT_TRUE(sig) << sig.error();
  EXPECT_TRUE(nkeys::verify(a->public_key(), data, *sig));
  EXPECT_FALSE(nkeys::verify(b->public_key(), data, *sig));
  EXPECT_FALSE(nkeys::verify(a->public_key(), bytes("another nonce"), *sig));
  EXPECT_FALSE(nkeys::verify("A" + std::string(55, 'A'), data, *sig)) << "a bad checksum";
}

TEST(jwt, a_user_jwt_carries_its_permissions_and_its_accounts_signature) {
  auto account = nkeys::key_pair::generate(nkeys::kind::account);
  auto user = nkeys::key_pair::generate(nkeys::kind::user);
  ASSERT_TRUE(account && user);
  permissions p;
  p.publish = {"mk.vma.vma-a.>"};
  p.publish_deny = {"mk.maintenance"};
  p.subscribe = {"mk.vma.vma-a.>", "_INBOX_vma-a.>"};
  p.allow_responses = true;
  auto token = jwt::user_jwt(*account, user->public_key(), "vma-a", p);
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(std::count(token->begin(), token->end(), '.'), 2);
  EXPECT_EQ(token->find('='), std::string::npos) << "no padding";
  auto claims = jwt::verified_claims(*token);
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ((*claims)["iss"], account->public_key());
  EXPECT_EQ((*claims)["sub"], user->public_key());
  EXPECT_EQ((*claims)["name"], "vma-a");
  const auto& nats = (*claims)["nats"];
  EXPECT_EQ(nats["type"], "user");
  EXPECT_EQ(nats["version"], 2);
  EXPECT_EQ(nats["pub"]["allow"], nlohmann::json({"mk.vma.vma-a.>"}));
  EXPECT_EQ(nats["pub"]["deny"], nlohmann::json({"mk.maintenance"}));
  EXPECT_EQ(nats["sub"]["allow"], nlohmann::json({"mk.vma.vma-a.>", "_INBOX_vma-a.>"}));
  EXPECT_EQ(nats["resp"]["max"], 1);
  for (const auto* unlimited : {"subs", "data", "payload"}) EXPECT_EQ(nats[unlimited], -1);
  EXPECT_TRUE((*claims)["jti"].is_string());
  EXPECT_GT((*claims)["iat"].get<std::int64_t>(), 1'700'000'000);

  // A changed payload keeps its old signature: refused.
  auto tampered = *token;
  const auto dot = tampered.find('.');
  tampered[dot + 5] = tampered[dot + 5] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(jwt::verified_claims(tampered));
  EXPECT_FALSE(jwt::verified_claims("a.b"));
}

TEST(jwt, an_account_jwt_lists_its_revocations_and_jetstream_only_when_asked) {
  auto op = nkeys::key_pair::generate(nkeys::kind::operator_key);
  auto app = nkeys::key_pair::generate(nkeys::kind::account);
  ASSERT_TRUE(op && app);
  auto plain = jwt::account_jwt(*op, app->public_key(), "SYS", false, {});
  auto with_js = jwt::account_jwt(*op, app->public_key(), "MK", true, {{"UABC", 1795910400}});
  ASSERT_TRUE(plain && with_js);
  auto a = jwt::verified_claims(*plain);
  auto b = jwt::verified_claims(*with_js);
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["iss"], op->public_key());
  EXPECT_FALSE((*a)["nats"]["limits"].contains("disk_storage"));
  EXPECT_FALSE((*a)["nats"].contains("revocations"));
  EXPECT_EQ((*b)["nats"]["limits"]["disk_storage"], -1);
  EXPECT_EQ((*b)["nats"]["revocations"]["UABC"], 1795910400);
  auto operator_token = jwt::operator_jwt(*op, "migratekit", app->public_key());
  ASSERT_TRUE(operator_token);
  auto o = jwt::verified_claims(*operator_token);
  ASSERT_TRUE(o);
  EXPECT_EQ((*o)["sub"], op->public_key());
  EXPECT_EQ((*o)["nats"]["system_account"], app->public_key());
}

TEST(jwt, a_creds_file_holds_the_jwt_and_the_seed_between_their_markers) {
  auto user = nkeys::key_pair::generate(nkeys::kind::user);
  ASSERT_TRUE(user);
  const auto text = jwt::creds("HEADER.CLAIMS.SIG", *user);
  EXPECT_NE(text.find("-----BEGIN NATS USER JWT-----\nHEADER.CLAIMS.SIG\n------END NATS USER "
                      "JWT------"),
            std::string::npos);
  EXPECT_NE(text.find("-----BEGIN USER NKEY SEED-----\n" + user->seed() +
                      "\n------END USER NKEY SEED------"),
            std::string::npos);
}

}  // namespace
}  // namespace mk::bus
