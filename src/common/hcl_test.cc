#include "common/hcl.h"
#include <gtest/gtest.h>
