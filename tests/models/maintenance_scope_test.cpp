// Maintenance scopes: "all" or "vma:ID" in words, a value in the actors.
#include <gtest/gtest.h>

#include "models/maintenance_mode.hpp"

namespace mk::actors {
namespace {

TEST(maintenance_scope, all_and_one_agent_parse_cover_and_name_themselves) {
  auto all = maintenance_scope::parse("all");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->covers("local"));
  EXPECT_TRUE(all->covers("vma-b"));
  EXPECT_EQ(all->name(), "all");
  auto one = maintenance_scope::parse("vma:vma-b");
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->covers("local"));
  EXPECT_TRUE(one->covers("vma-b"));
  EXPECT_EQ(one->name(), "vma:vma-b");
}

TEST(maintenance_scope, anything_else_is_refused) {
  for (const auto* text : {"", "ALL", "vma:", "vma:Not An Id", "vma-b", "vma:../x", "all "})
    EXPECT_FALSE(maintenance_scope::parse(text)) << text;
  msg::maintenance m;
  m.scope = "vma:";
  auto checked = check_switch(m);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().find("scope"), std::string::npos) << checked.error();
}

TEST(maintenance_scope, a_stored_mode_with_a_damaged_scope_is_refused_naming_it) {
  maintenance_mode m;
  m.scope = *maintenance_scope::parse("vma:local");
  auto text = to_json(m).dump();
  auto back = maintenance_from_json(text);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->scope, m.scope);
  auto damaged = nlohmann::json::parse(text);
  damaged["scope"] = "vma:";
  auto refused = maintenance_from_json(damaged.dump());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("scope"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace mk::actors
