#include "common/logging.h"
#include <gtest/gtest.h>
