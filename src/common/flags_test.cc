#include "common/flags.h"
#include <gtest/gtest.h>
