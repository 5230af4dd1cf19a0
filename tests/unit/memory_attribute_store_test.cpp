// The in-memory AttributeStore against the AttributeStore contract.

#include <memory>

#include "ratelimit/attribute_store.hpp"
#include "unit/attribute_store_contract.hpp"

namespace ratelimit::testing {
namespace {

struct MemoryAttributeStoreTraits {
  static void set_up_suite() {}
  static void tear_down_suite() {}
  static std::unique_ptr<AttributeStore> make() { return make_memory_attribute_store(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemoryAttributeStore, AttributeStoreContract,
                               MemoryAttributeStoreTraits);

TEST(MemoryAttributeStore, StoresAreIndependent) {
  auto a = make_memory_attribute_store();
  auto b = make_memory_attribute_store();
  a->put({"k", "v", std::nullopt});
  EXPECT_EQ(b->get("k", kAttrT0), std::nullopt);
  EXPECT_EQ(b->generation(), 0u);
  EXPECT_EQ(a->generation(), 1u);
}

}  // namespace
}  // namespace ratelimit::testing
