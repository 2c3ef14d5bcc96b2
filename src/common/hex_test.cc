#include "common/hex.h"
#include <gtest/gtest.h>
