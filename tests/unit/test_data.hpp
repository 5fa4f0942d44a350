#pragma once
// Captures recorded from real programs, under tests/data (SNIGATE_TEST_DATA).
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace snigate::test {

// tests/data/<dir>/<name>.bin, whole; a missing or empty file fails the test.
inline std::vector<std::uint8_t> load_capture(const std::string& dir, const std::string& name) {
  std::ifstream f(std::string(SNIGATE_TEST_DATA) + "/" + dir + "/" + name + ".bin", std::ios::binary);
  std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(b.empty()) << dir << "/" << name << ".bin is missing or empty";
  return b;
}

}  // namespace snigate::test
