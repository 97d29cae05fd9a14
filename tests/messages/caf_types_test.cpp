// The catalogue's messages in CAF: registered once, serialized by inspect() over the same
// field list as the wire codec, and delivered between actors unchanged.
#include "messages/caf_types.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/codec.hpp"
#include "samples.hpp"

namespace mk::msg {
namespace {

struct config : caf::actor_system_config {
  config() { msg::add_message_types(*this); }
};

template <class T>
bytes wire_of(const T& x) {
  return encode(x);
}

TEST(CafTypes, InspectCoversEveryField) {
  config cfg;
  caf::actor_system sys{cfg};
  for (std::size_t i = 0; i < test::sample_count; ++i) {
    std::visit(
        [&](auto original) {
          using T = decltype(original);
          std::vector<char> buf;
          caf::binary_serializer sink{sys, buf};
          ASSERT_FALSE(sink(original)) << T::type;
          T back{};
          caf::binary_deserializer source{sys, buf};
          ASSERT_FALSE(source(back)) << T::type;
          // Equal on the wire means equal in every field the codec knows.
          EXPECT_EQ(wire_of(back), wire_of(original)) << T::type;
        },
        test::sample(i));
  }
}

TEST(CafTypes, ActorsExchangeCatalogueMessages) {
  config cfg;
  caf::actor_system sys{cfg};
  auto echo = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](const stop_request& r) {
      return stop_confirm{
          r.hdr, r.job, r.stop_id, participant::poller, outcome::ok, "final snapshot taken"};
    }};
  });
  caf::scoped_actor self{sys};
  auto request = std::get<stop_request>(test::sample(0));
  bool answered = false;
  self->request(echo, std::chrono::seconds(5), request)
      .receive(
          [&](const stop_confirm& c) {
            answered = true;
            EXPECT_EQ(c.stop_id, "s-91ab");
            EXPECT_EQ(c.who, participant::poller);
            EXPECT_EQ(to_string(c.result), "ok");
          },
          [&](caf::error& e) { FAIL() << sys.render(e); });
  EXPECT_TRUE(answered);
  anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace mk::msg
